"""grade_answer: answers the checks cannot verify are not released under deterministic grading."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag import Configuration
from vetted_rag.nodes.grade_answer import grade_answer

PASSAGES = [{"id": "p", "source": "s.md", "title": "", "chunk": 0,
             "text": "Arthur's Magazine (1844-1846) was an American literary periodical. First for Women is a "
                     "woman's magazine published since 1989. Both are magazines."}]


async def grade(question: str, answer: str, **config) -> dict:
    return await grade_answer({"question": question, "generation": answer, "passages": PASSAGES, "grades": []},
                              Runtime(context=Configuration(**config)))


async def test_a_bare_yes_is_not_verifiable():
    update = await grade("Are both magazines?", "Yes [1].")
    assert update["answer_grade"]["binary_score"] == "no" and "bare yes or no" in update["answer_grade"]["reason"]
    assert "retry_action" not in update  # a regeneration may state the fact behind the yes


async def test_a_comparative_pick_stops_the_run():
    update = await grade("Which magazine was started first, Arthur's Magazine or First for Women?",
                         "Arthur's Magazine [1].")
    assert update["answer_grade"]["binary_score"] == "no" and update["retry_action"] == "stop"
    assert "comparison" in update["stop_reason"]


async def test_a_yes_with_its_statement_passes():
    update = await grade("Are both magazines?", "Yes, both are magazines [1].")
    assert update["answer_grade"]["binary_score"] == "yes", update["answer_grade"]["reason"]


# ---- the re-read ------------------------------------------------------------------------------------

FILM = [{"id": "p", "source": "film.md", "title": "", "chunk": 0,
         "text": "Blow Out is a 1981 thriller written and directed by Brian De Palma. It was produced by George Litto. "
                 "John Travolta stars in it."}]


def reread_model(pick):
    """A scripted chat model whose re-read picks the option `pick(options)`; records the calls."""
    from vetted_rag.providers import register_chat_model
    from vetted_rag.providers.scripted import ScriptedChatModel

    def choose(messages):
        options = [line[3:] for line in str(messages[-1].content).splitlines() if line[1:3] == ". "]
        return {"option": "ABCD"[options.index(pick(options))]}

    model = ScriptedChatModel(script={"RereadChoice": choose})
    name = f"scripted:reread-{id(model)}"
    register_chat_model(name, model)
    return name, model


async def reread_grade(answer: str, pick, **config) -> tuple[dict, object]:
    name, model = reread_model(pick)
    update = await grade_answer({"question": "Who was the producer of Blow Out?", "generation": answer,
                                 "passages": FILM, "grades": []},
                                Runtime(context=Configuration(chat_model=name, grading="deterministic", **config)))
    return update, model


async def test_reread_keeps_an_answer_picked_again():
    update, model = await reread_grade("George Litto [1].", lambda options: "George Litto")
    assert update["answer_grade"]["binary_score"] == "yes", update["answer_grade"]["reason"]
    assert model.count("RereadChoice") == 1
    options = str(model.calls[0][1][-1].content).partition("Options:")[2]
    assert "Brian De Palma" in options and "John Travolta" in options  # its rivals in the passages


async def test_reread_rejects_an_entity_in_the_wrong_relation():
    update, _ = await reread_grade("Brian De Palma [1].", lambda options: "George Litto")
    grade = update["answer_grade"]
    assert grade["binary_score"] == "no" and "'George Litto', not 'Brian De Palma'" in grade["reason"]
    assert update["usage"]["total_tokens"] > 0  # the re-read's tokens count against the run's budget


async def test_reread_is_skipped_without_rivals_or_when_off():
    _, model = await reread_grade("George Litto [1].", lambda options: options[0], reread_answers=False)
    assert model.count("RereadChoice") == 0
    name, model = reread_model(lambda options: options[0])
    await grade_answer({"question": "How is Blow Out described?", "generation": "A 1981 thriller [1].",
                                 "passages": FILM, "grades": []},
                                Runtime(context=Configuration(chat_model=name, grading="deterministic")))
    assert model.count("RereadChoice") == 0, "a phrase is not a name, date or number: nothing to choose between"


def test_reread_prompt_extends_the_generation_prompt():
    # Its prefix is the generation's, so llama.cpp reuses that evaluation (the re-read reads only the options).
    from vetted_rag.prompts import generate_messages, reread_messages

    generation = generate_messages("Who produced it?", FILM, "an earlier answer was rejected")
    reread = reread_messages("Who produced it?", FILM, "an earlier answer was rejected", ["A", "B"])
    assert reread[0].content == generation[0].content
    assert reread[1].content.startswith(generation[1].content) and reread[1].content != generation[1].content
