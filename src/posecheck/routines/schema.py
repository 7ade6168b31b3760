"""The routine-file schema: what a ``routines/*.yaml`` file may say, validated with pydantic v2.

A routine is a programme of sections (warm-up, mobility, ...); each section lists steps. A step is either an
**exercise** (a spec id, counted or timed by that spec, with the routine's own targets) or a **guided** step (a
move posecheck has no spec for, or one the camera cannot judge from where it stands: timed, with its
instructions shown and spoken). Every model forbids unknown keys, as the exercise specs do, so a typo is an
error. Checks that need the exercise registry (the spec id exists, a per-side target on an exercise that has
sides) are in `posecheck.routines.loader`.

Pure module (pydantic only).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

PositiveSeconds = Annotated[float, Field(gt=0, le=3600, description="seconds")]

#: What the pain key says when no routine gives its own line (the seeds say "stop if painful").
DEFAULT_PAIN_LINE = ("Let's stop this one. Pain is a signal to rest, not to push: the routine says stop if "
                     "it hurts. It is noted. Rest a moment, then carry on only if it feels fine.")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ExerciseStep(_Strict):
    """A step counted or timed by an exercise spec, with the routine's own targets (they replace the spec's)."""

    exercise: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", description="the exercise's spec id (posecheck exercises list)")]
    name: str | None = Field(None, description="what the routine calls it (default: the spec's title)")
    reps: int | None = Field(None, ge=1, le=500, description="reps to do (per side when per_side is true)")
    per_side: bool | None = Field(None, description="reps (or holds) are per side; default: the spec's")
    hold_seconds: PositiveSeconds | None = Field(None, description="seconds to hold (each hold, each side)")
    time_box: PositiveSeconds | None = Field(None, description="the step ends after this many seconds at the latest")
    open_ended: bool = Field(False, description="no target: count until the time box ends (needs time_box)")
    sets: int = Field(1, ge=1, le=20, description="how many times the step is done")
    rest_seconds: PositiveSeconds | None = Field(None, description="rest between sets")
    transition: str | None = Field(None, description="said and shown before the step: how to get into position")
    instructions: list[str] | None = Field(None, description="how to do it, shown before the step (default: the spec's instructions)")

    @model_validator(mode="after")
    def _rest_needs_sets(self) -> "ExerciseStep":
        if self.rest_seconds is not None and self.sets == 1:
            raise ValueError("rest_seconds is the rest between sets: give sets (2 or more) too")
        if self.open_ended and (self.time_box is None or self.reps is not None or self.hold_seconds is not None):
            raise ValueError("open_ended counts without a target until the time box ends: give time_box, not reps or hold_seconds")
        return self


class GuidedStep(_Strict):
    """A timed step with instructions on screen and in speech: no spec counts it."""

    guided: str = Field(min_length=1, description="the move's name")
    instructions: list[str] = Field(min_length=1, description="what to do, one line each")
    seconds: PositiveSeconds = Field(description="how long the step lasts")
    why_guided: str | None = Field(None, description="why posecheck cannot check it (no spec, view, ...)")
    transition: str | None = Field(None, description="said and shown before the step: how to get into position")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "guided" in value:
            return "guided"
        if "exercise" in value:
            return "exercise"
        return None
    return "guided" if isinstance(value, GuidedStep) else "exercise" if isinstance(value, ExerciseStep) else None


Step = Annotated[
    Union[Annotated[ExerciseStep, Tag("exercise")], Annotated[GuidedStep, Tag("guided")]],
    Discriminator(_step_kind, custom_error_type="step_kind",
                  custom_error_message="a step names an exercise (exercise: cat-cow) or is a guided step (guided: Final Rest)"),
]


class Section(_Strict):
    name: str = Field(min_length=1, description="e.g. Gentle Warm-Up")
    minutes: Annotated[float, Field(gt=0, le=600)] | None = Field(None, description="the section's time in the routine")
    steps: list[Step] = Field(min_length=1)


class Routine(_Strict):
    """A guided routine: sections of exercise and guided steps. See README, section posecheck routine."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", description="CLI name, e.g. back-care-15 (= file name)")]
    title: str
    description: str
    source: str | None = Field(None, description="where the routine comes from (a seed file, a guide)")
    minutes: Annotated[float, Field(gt=0, le=600)] | None = Field(None, description="the routine's length")
    pain_line: str = Field(DEFAULT_PAIN_LINE, min_length=1, description="said when the 'this hurts' key is pressed")
    sections: list[Section] = Field(min_length=1)

    def steps(self) -> list[tuple[Section, ExerciseStep | GuidedStep]]:
        """Every step in order, with its section."""
        return [(section, step) for section in self.sections for step in section.steps]


def routine_json_schema() -> dict:
    """The JSON Schema of a routine file, for editors."""
    schema = Routine.model_json_schema(ref_template="#/$defs/{model}")
    return {**schema, "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "posecheck routine"}

