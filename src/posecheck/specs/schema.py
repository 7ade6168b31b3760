"""The exercise-spec schema: what an ``exercise_specs/*.yaml`` file may say, validated with pydantic v2.

Every model forbids unknown keys, so a typo is an error rather than a silently ignored setting. Checks that
need the whole spec (a rep sequence naming a missing phase, overlapping phase ranges, a form rule naming a
missing measure) live in `posecheck.specs.checks` so that they can run even when pydantic found other
problems, and the user sees every problem at once. docs/SPEC_FORMAT.md explains each field with an example.

The few defaults below are engine tuning (filtering and tracking), not exercise thresholds: every number that
decides a phase, a rep, a hold or a cue has no default and must be written, with its origin, in the spec.

Pure module (pydantic only).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from posecheck.specs.names import check_point_name

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="lower_snake_case identifier")]
Seconds = Annotated[float, Field(ge=0, description="seconds")]
PositiveSeconds = Annotated[float, Field(gt=0, description="seconds")]


class _Strict(BaseModel):
    # allow_inf_nan=False: `.nan` or `.inf` as a bound, a time or a filter setting is always a mistake (NaN
    # compares false both ways, so a phase with min: .nan is never entered and nothing is ever counted).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Range(_Strict):
    """A closed interval of a measure (or of seconds). Either end may be left open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min:g}) must be less than max ({self.max:g})")
        return self


#: measure name -> the range its value must be in. Several entries must all hold (AND).
Conditions = dict[Name, Range]


# --------------------------------------------------------------------------------------------- measures
MeasureKind = Literal["angle", "inclination", "distance", "height", "lateral"]
POINTS_PER_KIND: dict[str, int] = {"angle": 3, "inclination": 2, "distance": 2, "height": 2, "lateral": 2}
UNIT_OF_KIND: dict[str, str] = {
    "angle": "deg",
    "inclination": "deg",
    "distance": "torso",
    "height": "torso",
    "lateral": "torso",
}


class Measure(_Strict):
    """One number per frame computed from landmarks.

    Kinds (``points`` in brackets):
      angle [a, b, c]: the angle at b between b->a and b->c, 0-180 deg.
      inclination [a, b]: the angle of segment a->b to ``reference`` (horizontal or vertical), 0-90 deg
        (unsigned, so facing left or right reads the same).
      distance [a, b]: |a - b| divided by the torso length (mid_shoulder to mid_hip), so it does not depend
        on how far the person is from the camera.
      height [a, b]: how far a is ABOVE b, divided by the torso length (negative when a is below b).
      lateral [a, b]: image x of a minus image x of b, divided by the torso length (signed; mirrors flip it).
    """

    kind: MeasureKind
    points: list[str]
    reference: Literal["horizontal", "vertical"] | None = Field(
        None, description="inclination only: the line the segment's angle is measured against"
    )
    space: Literal["image", "world"] = Field(
        "image",
        description="image: pixel coordinates (Pose.xy_px); world: MediaPipe's 3D world landmarks in metres, "
        "more robust to the camera angle but noisier for small moves",
    )
    side: Literal["auto", "left", "right", "both"] = Field(
        "auto",
        description="which side short names (knee, hip...) resolve to; auto = the side nearer the camera",
    )
    reduce: Literal["min", "max", "mean", "per_side"] | None = Field(
        None,
        description="side: both only. min/max/mean combine the two sides into one value (a hidden side is "
        "ignored); per_side keeps both values (one phase machine per side)",
    )
    description: str | None = None
    label: str | None = Field(
        None,
        description="the measure's name for people, shown in reports, the overlay and CSV headers, e.g. "
        "'head height above the shoulders'; default: the description, else the name",
    )
    unit_label: str | None = Field(
        None,
        alias="unit",
        description="the unit for people, e.g. 'torso lengths'; default: 'deg' for angles, 'torso lengths' for "
        "distances and heights",
    )

    @field_validator("points")
    @classmethod
    def _known_names(cls, points: list[str]) -> list[str]:
        problems = [p for p in (check_point_name(name) for name in points) if p]
        if problems:
            raise ValueError("; ".join(problems))
        return points

    @model_validator(mode="after")
    def _consistent(self) -> "Measure":
        need = POINTS_PER_KIND[self.kind]
        if len(self.points) != need:
            raise ValueError(f"a {self.kind} measure takes {need} points, got {len(self.points)}")
        if self.kind == "inclination" and self.reference is None:
            raise ValueError("an inclination measure needs reference: horizontal or vertical")
        if self.kind != "inclination" and self.reference is not None:
            raise ValueError(f"reference applies to inclination measures only, not {self.kind}")
        if self.side == "both" and self.reduce is None:
            raise ValueError("side: both needs reduce: min, max, mean or per_side")
        if self.side != "both" and self.reduce is not None:
            raise ValueError("reduce applies to side: both only")
        if self.kind == "lateral" and self.space == "world":
            raise ValueError("lateral measures are image-plane only (space: image)")
        return self

    @property
    def unit(self) -> str:
        return UNIT_OF_KIND[self.kind]


class MeasureLibrary(_Strict):
    """The measure library (``exercise_specs/_measures.yaml``): measures a spec takes by name with ``use:``."""

    measures: dict[Name, Measure] = Field(min_length=1)


# --------------------------------------------------------------------------------------------- phases
class PhaseRange(Range):
    """A phase: a range of the phase measure, optionally with extra conditions on other measures."""

    also: Conditions | None = Field(None, description="extra conditions that must hold to be in this phase")
    description: str | None = None
    label: str | None = Field(
        None, description="the phase's name for people, e.g. 'back rounded'; default: the name with spaces"
    )


class Phases(_Strict):
    """Named ranges of one measure. Hysteresis and a minimum dwell keep jitter from flipping the phase."""

    measure: Name = Field(description="the measure the phase ranges are on (the rep's main measure)")
    ranges: dict[Name, PhaseRange] = Field(min_length=1)
    hysteresis: float = Field(
        ge=0,
        description="the current phase is kept until the value leaves its range by more than this "
        "(measure units, or a fraction of the learned range when adaptive)",
    )
    min_dwell: Seconds = Field(description="a new phase must last this long before it counts")


# --------------------------------------------------------------------------------------------- reps
class Reps(_Strict):
    """A rep is the phase sequence, entered in order (phases not in the sequence may come in between)."""

    sequence: list[Name] = Field(min_length=2)
    start: Literal["first_phase", "anywhere"] = Field(
        "first_phase",
        description="first_phase: a clip that starts mid-rep counts its first rep only after the sequence's "
        "first phase has been seen; anywhere: the first phase seen may be any phase of the cycle",
    )
    min_excursion: float | None = Field(
        None, ge=0, description="a rep whose range of motion of the phase measure is smaller is not counted"
    )
    max_seconds: PositiveSeconds | None = Field(
        None, description="a rep still unfinished after this long is abandoned (the person stopped mid-rep)"
    )
    max_seconds_from: Literal["start", "movement"] = Field(
        "start",
        description="what max_seconds is counted from: start = when the rep's first phase was entered (time "
        "resting in it counts); movement = when that phase was left (resting in the start position never "
        "abandons the rep)",
    )
    peaks: dict[Name, Literal["min", "max"]] = Field(
        default_factory=dict, description="measure -> which extreme to record per rep (RepRecord.peaks)"
    )
    require: Conditions | None = Field(
        None,
        description="the position the person must stay in during a rep (checked every frame, unlike a phase's "
        "`also`, which is checked on entry): when these fail for abandon_after seconds the rep in progress is "
        "abandoned, and the next rep starts at the next entry into the sequence's first phase once they hold again",
    )
    abandon_after: Seconds | None = Field(
        None, description="seconds the require conditions may fail before the rep in progress is abandoned"
    )
    cut_at_end: float | None = Field(
        None,
        gt=0,
        le=1,
        description="when the session ends during a rep's return (its far phase reached, its last phase not yet "
        "entered), the rep counts once the phase measure has come back this share of the way from its extreme in "
        "the far phase to the last phase's range (0-1, in phase units); absent: such a rep is not counted. For "
        "sequences whose last phase is the return to the start position, not for those that end in the far position",
    )

    end_at: Literal["count", "leave"] = Field(
        "count",
        description="where a rep's recorded end (and so its duration and rep tempo) lies: count = the moment it is "
        "counted (its last phase entered); leave = when the person leaves the last phase (or the session ends), "
        "for sequences that end in the far position ([cat, cow], [upright, bent]), so that the rep covers the way "
        "back too. The count is not delayed: RepCompleted comes at the same moment, RepClosed follows with the "
        "final end. Not for sequences that end where they start (their last phase is already the way back)",
    )

    @model_validator(mode="after")
    def _paired_settings(self) -> "Reps":
        if self.end_at == "leave" and len(self.sequence) >= 2 and self.sequence[0] == self.sequence[-1]:
            raise ValueError(
                "end_at: leave is for sequences that end in the far position; this one ends where it starts, so a rep "
                "already ends on the way back (use end_at: count)"
            )
        if "max_seconds_from" in self.model_fields_set and self.max_seconds is None:
            raise ValueError("max_seconds_from applies to max_seconds only")
        if self.require is not None and self.abandon_after is None:
            raise ValueError("require needs abandon_after (seconds the position may be lost before the rep is abandoned)")
        if self.require is None and self.abandon_after is not None:
            raise ValueError("abandon_after applies to require only")
        return self


class Sides(_Strict):
    """How the working side of a rep or hold is decided (alternating exercises: bird-dog, dead bug...)."""

    decide_by: Name = Field(description="a measure: side both (rules larger/smaller/moved) or any measure (rule sign)")
    rule: Literal["larger", "smaller", "moved", "sign"] = Field(
        description="larger/smaller: the side whose value of decide_by is larger/smaller over the rep or hold; "
        "moved: the side whose value moved further from where it was when the rep or hold began; "
        "sign: positive values mean the side named by `positive`"
    )
    positive: Literal["left", "right"] | None = None
    alternating: bool = Field(True, description="sides are expected to alternate (asymmetry is reported)")

    @model_validator(mode="after")
    def _positive_iff_sign(self) -> "Sides":
        if self.rule == "sign" and self.positive is None:
            raise ValueError("rule: sign needs positive: left or right")
        if self.rule != "sign" and self.positive is not None:
            raise ValueError("positive applies to rule: sign only")
        return self


# --------------------------------------------------------------------------------------------- holds
class HoldRelease(_Strict):
    """Ends a hold once the person has started back out of it, before the position's range is left."""

    measure: Name = Field(description="the measure that says how deep into the held position the person is")
    deepest: Literal["min", "max"] = Field(description="which end of the measure is deeper into the position")
    by: float = Field(
        gt=0,
        description="the hold ends once the measure has come back this far (its units) from its deepest value "
        "in the hold; pick it above the measure's sway while holding still",
    )


class Hold(_Strict):
    """A hold: a timer that runs while the hold position (and good form) is kept, and pauses otherwise."""

    phases: list[Name] | None = Field(None, description="hold while in one of these phases")
    when: Conditions | None = Field(None, description="hold while these conditions hold (AND with phases)")
    min_seconds: Seconds = Field(description="holds shorter than this are not reported (passing through)")
    exit_grace: Seconds = Field(
        description="the position may be lost this long without ending the hold; the timer pauses meanwhile"
    )
    pause_on: Literal["warning", "any", "none"] = Field(
        "warning", description="which active form cues pause the timer (by severity)"
    )
    release: HoldRelease | None = Field(
        None, description="end the hold when the person starts back, not only when the position is left"
    )

    @model_validator(mode="after")
    def _has_position(self) -> "Hold":
        if not self.phases and not self.when:
            raise ValueError("a hold needs phases, when, or both")
        return self


# --------------------------------------------------------------------------------------------- tempo
class Transition(_Strict):
    from_: Name = Field(alias="from")
    to: Name
    seconds: Range = Field(description="seconds from leaving `from` to entering `to`")

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)


class Tempo(_Strict):
    """Seconds per rep, per phase or per transition. Too fast gives a kind slow-down cue."""

    rep: Range | None = Field(None, description="seconds per rep")
    phases: dict[Name, Range] = Field(default_factory=dict, description="seconds spent in a phase")
    transitions: list[Transition] = Field(default_factory=list)
    too_fast: str = Field(description="cue text when faster than the minimum (rule id slow_down)")
    too_slow: str | None = Field(None, description="cue text when slower than the maximum (rule id tempo_slow)")
    cooldown: Seconds = Field(description="at least this long between two tempo cues")
    skip_first_rep: bool = Field(
        False,
        description="give the session's first rep no rep-tempo verdict: it is timed from when counting began, "
        "which is often the move into the start position, not a rep",
    )


# --------------------------------------------------------------------------------------------- form
RESERVED_RULE_IDS = ("slow_down", "tempo_slow", "setup")


class FormRule(_Strict):
    """Good form as conditions; when they fail for `after` seconds the cue is given (then not for `cooldown`)."""

    id: Name
    require: Conditions = Field(min_length=1, description="what good form looks like")
    phases: list[Name] | None = Field(None, description="check only in these phases (default: always)")
    after: Seconds = Field(description="the fault must last this long before the cue")
    cue: str
    severity: Literal["info", "warning"] = "info"
    cooldown: Seconds = Field(description="at least this long between two cues of this rule")

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_RULE_IDS:
            raise ValueError(f"'{value}' is reserved for the engine's own cues ({', '.join(RESERVED_RULE_IDS)})")
        return value


# --------------------------------------------------------------------------------------------- setup
class StartPosition(_Strict):
    when: Conditions = Field(min_length=1)
    text: str = Field(description="what to tell the user while not in the starting position")


class Setup(_Strict):
    """What must be true before counting: camera view, visible landmarks, starting position."""

    view: Literal["side", "front", "any"]
    view_ratio: float | None = Field(
        None,
        gt=0,
        description="shoulder width / torso length (image plane): side view needs less than this, front "
        "view more than this",
    )
    view_text: str | None = Field(None, description="what to tell the user when the view is wrong")
    visible: list[str] | None = Field(
        None,
        description="landmarks that must be visible; default: the points of the phase measure only "
        "(lenient: real clips often crop feet and hands)",
    )
    visible_text: str = Field(description="what to tell the user when those landmarks are not visible")
    start: StartPosition | None = None
    grace: Seconds = Field(description="a setup problem must last this long before counting pauses")

    @field_validator("visible")
    @classmethod
    def _known_names(cls, points: list[str] | None) -> list[str] | None:
        problems = [p for p in (check_point_name(name) for name in points or []) if p]
        if problems:
            raise ValueError("; ".join(problems))
        return points

    @model_validator(mode="after")
    def _view_needs_ratio(self) -> "Setup":
        if self.view != "any" and (self.view_ratio is None or self.view_text is None):
            raise ValueError(f"view: {self.view} needs view_ratio and view_text")
        return self


# --------------------------------------------------------------------------------------------- engine tuning
class Smoothing(_Strict):
    """One Euro filter on landmark coordinates (Casiez et al. 2012): less jitter when still, little lag when moving."""

    # Filtered values are image coordinates as fractions of the frame (0-1) and world coordinates in metres,
    # so speeds are in frame-widths (or metres) per second. Replaying cat_cow_01, push_up_01 and
    # glute_bridge_13: a 1 Hz cutoff cut frame-to-frame jitter (mean |second difference|) 2-4x at about
    # 3 frames (0.1 s) of lag, well under a back-care phase (1-6 s). beta 0.05 adds almost nothing at these
    # speeds (0.1-1 frame-widths/s); beta 1 brings fast push-ups to 2 frames of lag for 25 % more jitter.
    # The default stays gentle: specs for quicker moves may raise beta.
    min_cutoff: float = Field(1.0, gt=0, description="Hz: cutoff when still (lower = smoother, more lag)")
    beta: float = Field(
        0.05, ge=0, description="speed coefficient per (frame-width/s): higher = less lag when moving fast"
    )
    d_cutoff: float = Field(1.0, gt=0, description="Hz: cutoff of the speed estimate")


class Tracking(_Strict):
    """Visibility gating, the auto side choice and how dropouts are handled."""

    # MediaPipe's own drawing utilities hide landmarks under 0.5 visibility; the same line here.
    min_visibility: float = Field(0.5, ge=0, le=1, description="landmarks below this are unknown, never guessed")
    # A switch needs a clear and lasting difference, or a side view would flip sides every frame.
    side_margin: float = Field(0.1, ge=0, le=1, description="auto side: mean visibility lead needed to switch")
    side_seconds: Seconds = Field(1.0, description="auto side: the lead must last this long")
    # A few frames without a person (at 30 fps) are detector hiccups, not the person leaving.
    lost_after: Seconds = Field(0.2, description="seconds without a pose before TrackingLost is reported")
    reset_after: Seconds = Field(
        2.0,
        description="a dropout longer than this abandons the rep in progress (and so does counting paused this "
        "long by a setup problem)",
    )


class Adaptive(_Strict):
    """Phase ranges relative to the person's own range of the phase measure, learned from the movement."""

    learn_reps: int = Field(ge=1, description="the range is learned until this many reps are counted, then kept")
    min_range: float = Field(
        gt=0, description="the learned range is never narrower than this (measure units): noise is not a rep"
    )
    anchor: Literal["first_phase", "low", "high"] = Field(
        "first_phase",
        description="where the first value seen sits while the learned range is still narrower than min_range: "
        "first_phase = the middle of the rep's first phase (the middle of the range for hold-only specs); "
        "low = the bottom of the range (the person starts at rest and moves up); high = the top",
    )


# --------------------------------------------------------------------------------------------- metadata
class Target(_Strict):
    reps: int | None = Field(None, ge=1)
    seconds: PositiveSeconds | None = Field(None, description="hold target")
    per_side: bool = False

    @model_validator(mode="after")
    def _something(self) -> "Target":
        if self.reps is None and self.seconds is None:
            raise ValueError("give reps, seconds or both")
        return self


class ExerciseSpec(_Strict):
    """One exercise, everything the engine needs to follow it. See docs/SPEC_FORMAT.md."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", description="CLI name, e.g. cat-cow")]
    extends: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")] | None = Field(
        None,
        description="the id of the spec this one starts from: its values are merged under this file's "
        "(mappings key by key, anything else replaced, null removes); the loader resolves it",
    )
    title: str
    description: str
    instructions: list[str] = Field(min_length=1)
    tips: list[str] = Field(default_factory=list)
    routine: str | None = Field(None, description="seed routine file in shared/seeds the numbers come from")
    target: Target

    setup: Setup
    smoothing: Smoothing = Field(default_factory=Smoothing)
    tracking: Tracking = Field(default_factory=Tracking)
    measures: dict[Name, Measure] = Field(min_length=1)
    phases: Phases
    reps: Reps | None = None
    sides: Sides | None = None
    hold: Hold | None = None
    tempo: Tempo | None = None
    form: list[FormRule] = Field(default_factory=list)
    adaptive: Adaptive | None = None

    @model_validator(mode="after")
    def _counts_something(self) -> "ExerciseSpec":
        if self.reps is None and self.hold is None:
            raise ValueError("a spec needs reps, hold, or both")
        return self

    @property
    def kind(self) -> str:
        """'reps', 'hold' or 'reps+hold'."""
        return "+".join(k for k, v in (("reps", self.reps), ("hold", self.hold)) if v is not None)


# --------------------------------------------------------------------------------------------- JSON Schema
def authoring_json_schema() -> dict:
    """The JSON Schema of a spec *file*, for editors: the model's schema plus what the loader resolves first.

    - A measure may name a library measure (``use:``) instead of giving its kind and points.
    - A spec with ``extends:`` may leave out anything its parent gives and write ``null`` to remove a value:
      it is checked against a copy of the schema in which nothing is required and every value may be null
      (``$defs/Partial...``); the full check happens when the loader has merged it.
    """
    strict = ExerciseSpec.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs = strict.pop("$defs")
    defs["ExerciseSpec"] = strict
    measure = defs["Measure"]
    measure["properties"] = {
        "use": {
            "type": "string",
            "pattern": r"^[a-z][a-z0-9_]*$",
            "description": "a measure of the measure library (exercise_specs/_measures.yaml); the keys written "
            "here are merged over it",
        },
        **measure["properties"],
    }
    measure["anyOf"] = [{"required": ["use"]}, {"required": measure.pop("required")}]

    def partial(node):
        """A copy of a schema node with nothing required and every property nullable (null removes)."""
        if isinstance(node, list):
            return [partial(item) for item in node]
        if not isinstance(node, dict):
            return node
        copied = {}
        for key, value in node.items():
            if key == "required" or (key == "anyOf" and all(isinstance(i, dict) and set(i) == {"required"} for i in value)):
                continue  # the parent may give it
            if key == "properties":
                copied[key] = {name: {"anyOf": [partial(field), {"type": "null"}]} for name, field in value.items()}
            elif key == "$ref":
                copied[key] = value.replace("#/$defs/", "#/$defs/Partial")
            else:
                copied[key] = partial(value)
        return copied

    all_defs = dict(defs)
    all_defs.update({f"Partial{name}": partial(body) for name, body in defs.items()})
    all_defs["PartialExerciseSpec"]["required"] = ["id", "extends"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "posecheck exercise spec",
        "description": "An exercise spec file (docs/SPEC_FORMAT.md). With extends: only what differs from the parent.",
        "$defs": all_defs,
        "if": {"required": ["extends"]},
        "then": {"$ref": "#/$defs/PartialExerciseSpec"},
        "else": {"$ref": "#/$defs/ExerciseSpec"},
    }
