"""The user's playbook: the company's vocabulary, its competitors, the messages reps should carry and the objections
customers raise. One TOML file, named by the config's `playbook` key, validated here."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from winloss.pipeline.errors import ConfigError
from winloss.pipeline.settings import describe_invalid, read_toml


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Competitor(_Section):
    name: str = Field(min_length=1)
    aliases: list[str] = []
    case_sensitive: bool = Field(False, description="match only as spelled (for names that are common words)")

    @property
    def names(self) -> list[str]:
        return [self.name, *[a for a in self.aliases if a.lower() != self.name.lower()]]


class Message(_Section):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    text: str = Field(min_length=1)
    paraphrases: list[str] = []
    forbidden: list[str] = Field([], description="claims that contradict the message")


class ObjectionCategory(_Section):
    category: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    examples: list[str] = Field(min_length=1)
    cues: list[str] = []
    requires_cue: bool = Field(False, description="only a sentence with one of the cues can be this objection")


class Handling(_Section):
    """Examples that tell an answered objection from a brushed-off one, and an accepted answer from a rejected one."""

    answered: list[str] = []
    brushed_off: list[str] = []
    accepted: list[str] = []
    rejected: list[str] = []


class CompetitorContext(_Section):
    context: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    cues: list[str] = []
    examples: list[str] = []


class Company(_Section):
    name: str
    products: list[str] = []
    vocabulary: list[str] = []


class Playbook(_Section):
    """The user's playbook: who we compete with, what reps should say, what customers object to."""

    company: Company
    competitors: list[Competitor] = []
    messages: list[Message] = []
    objections: list[ObjectionCategory] = []
    handling: Handling = Handling()
    competitor_contexts: list[CompetitorContext] = []
    not_objections: list[str] = Field([], description="what your customers say that is not an objection (besides "
                                      "greetings, thanks, agreement and plain questions, which winloss knows)")

    @field_validator("messages")
    @classmethod
    def _unique_messages(cls, messages: list[Message]) -> list[Message]:
        ids = [m.id for m in messages]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"message ids must be unique, repeated: {', '.join(dupes)}")
        return messages

    def message(self, message_id: str) -> Message:
        return next(m for m in self.messages if m.id == message_id)


def load_playbook(path: Path) -> Playbook:
    try:
        return Playbook.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ConfigError(describe_invalid(exc, path)) from None
