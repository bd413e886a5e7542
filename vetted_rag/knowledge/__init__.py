"""The knowledge base: Chroma store and chunking (`store`), ingest of files and web pages (`ingest`),
embeddings (`embeddings`)."""
