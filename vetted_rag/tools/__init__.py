"""LangChain tools with typed input and output: the web scraper and the code sandbox."""
