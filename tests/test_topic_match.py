"""Word forms in the topic filter and the hand-off's suggested topic, on the shipped topics."""

from __future__ import annotations

from functools import lru_cache

import pytest
from textual.app import App
from textual.widgets import Input, OptionList

from ekc_core.reference_data import load_reference_data
from ekc_core.schemas import TopicPublic
from ekc_tui.screens import PickerScreen
from ekc_tui.topic_match import filter_items, suggest_topic
from tests.conftest import DATA_DIR
from tests.tui_support import wait_for


@lru_cache(maxsize=1)
def shipped_topics() -> tuple[TopicPublic, ...]:
    ref = load_reference_data(DATA_DIR)
    return tuple(
        TopicPublic(
            id=i,
            code=t.code,
            name=t.name,
            parent_code=t.parent_code,
            group=t.group,
            default_agency_code=t.default_agency,
            pos_answer_days=t.pos_answer_days,
            sort_order=t.sort_order,
            active=True,
        )
        for i, t in enumerate(ref.topics, 1)
    )


def items() -> list[tuple[str, str]]:
    return [(t.code, t.name) for t in shipped_topics()]


def found(text: str) -> list[str]:
    return [code for code, _label in filter_items(items(), text)]


@pytest.mark.parametrize("typed", ["скорая", "скорую", "скорой", "скор", "СКОРАЯ помощь"])
def test_the_filter_finds_a_topic_by_any_form_of_its_words(typed: str) -> None:
    assert found(typed) == ["medicine.ambulance"]


def test_the_filter_understands_word_forms_and_keeps_pieces_of_words() -> None:
    assert "medicine.free_medicines" in found("лекарство")
    assert "medicine.free_medicines" in found("льготы лекарство")
    assert found("пенсию") == ["social.pensions"]
    assert found("мусор") == ["housing.tko"]
    assert "housing.tko" in found("тко")  # a piece of a word, as before
    assert found("") == [code for code, _ in items()]
    assert found("скорая мусор") == []  # every typed word must match


async def test_ctrl_t_picker_finds_the_ambulance_topic_by_skoraya() -> None:
    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(PickerScreen("Тематика", items()))

    app = Host()
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        app.screen.query_one("#filter", Input).focus()
        await pilot.press(*"скорая")
        options = app.screen.query_one("#choices", OptionList)
        await wait_for(pilot, lambda: options.option_count == 1, what="one topic left")
        assert options.get_option_at_index(0).id == "medicine.ambulance"


#: (assistant's topic, what the caller said, the topic to save)
CALLS = [
    (
        "medicine",
        "Здравствуйте. Мне врач выписал рецепт на льготное лекарство от давления, а в аптеке "
        "говорят, что его нет уже месяц. Куда мне обращаться?",
        "medicine.free_medicines",
    ),
    (
        "medicine",
        "Вызвали скорую матери, ей плохо с сердцем, ждали три часа, так никто и не приехал.",
        "medicine.ambulance",
    ),
    (
        "Медицина",  # some assistants send the name, not the code
        "Хочу пожаловаться на скорую помощь, фельдшер нагрубил.",
        "medicine.ambulance",
    ),
    (
        "social",
        "Мне уже второй месяц задерживают пенсию, в Социальном фонде ничего не объясняют.",
        "social.pensions",
    ),
    (
        "housing",
        "У нас в Ербогачёне третью неделю не вывозят мусор, контейнеры переполнены.",
        "housing.tko",
    ),
    (
        "housing",
        "Дома холодно, батареи еле тёплые, отопления нормального нет с понедельника.",
        "housing.heating",
    ),
    # nothing specific said: the assistant's topic stays
    ("medicine", "Мне нужна медицинская помощь, подскажите, куда позвонить.", "medicine"),
    ("medicine", "", "medicine"),
    # already a leaf: nothing deeper
    ("medicine.ambulance", "скорая не приехала", "medicine.ambulance"),
]


@pytest.mark.parametrize(("assistant", "transcript", "expected"), CALLS)
def test_suggest_topic_takes_the_deepest_subtopic_the_caller_named(
    assistant: str, transcript: str, expected: str
) -> None:
    assert suggest_topic(assistant, transcript, shipped_topics()) == expected


def test_suggest_topic_without_or_with_an_unknown_assistant_topic() -> None:
    topics = shipped_topics()
    assert suggest_topic(None, "скорая не приехала", topics) is None
    assert suggest_topic("  ", "скорая не приехала", topics) is None
    assert suggest_topic("covid", "скорая не приехала", topics) == "covid"


def test_suggest_topic_uses_keywords_and_skips_inactive_subtopics() -> None:
    topics = list(shipped_topics())
    said = "Не могу попасть к терапевту, в регистратуре не берут трубку"
    assert suggest_topic("medicine", said, topics) == "medicine"
    keywords = {"medicine.appointment": ["терапевт", "регистратура", "талон"]}
    assert suggest_topic("medicine", said, topics, keywords=keywords) == "medicine.appointment"
    off = [t.model_copy(update={"active": t.code != "medicine.ambulance"}) for t in topics]
    assert suggest_topic("medicine", "скорая не приехала", off) == "medicine"
