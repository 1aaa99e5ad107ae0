"""What every record of the directory file (SPEC section 3) shares: a pydantic model per record
kind, field types whose errors already read as the operator's messages, and the translation of
pydantic's errors into one line per problem naming the record and the field.

The record kinds live beside the rows they become (``portal/directory/imported.py``,
``portal/accounts/imported.py``, ``portal/claims/imported.py``); ``portal/directory_import.py``
reads the whole file with them and applies it in one transaction.

A record with a bad field is still read, without that field (``MISSING``), so that the checks
between records still see it: a partner with one bad MPN ID stays a partner its associations
may refer to, and each problem is reported once.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, NoReturn, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainValidator, PrivateAttr, StringConstraints, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import select

from portal.directory.source import normalize_domain, normalize_guid
from portal.extensions import db

#: The kinds counted in an ImportReport, in the order they are applied.
KINDS = ("products", "tenants", "subscriptions", "partners", "mpns", "users", "reviewers", "associations")


class _Missing:
    """A field that is absent or failed its own check: the checks between records skip it."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ERROR_TYPE = "directory_import"


class DirectoryImportError(Exception):
    """The file was refused; ``errors`` lists every problem found, one line each."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        count = len(self.errors)
        plural = "" if count == 1 else "s"
        heading = f"The directory file was refused ({count} error{plural}); nothing was imported:"
        super().__init__("\n".join([heading, *(f"  {error}" for error in self.errors)]))


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    #: Things the import deliberately left alone, for the operator to know about.
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str, created: bool, changed: bool = True) -> None:
        if created:
            self.created[kind] += 1
        elif changed:
            self.updated[kind] += 1

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    @property
    def total_updated(self) -> int:
        return sum(self.updated.values())

    @property
    def changed(self) -> bool:
        return bool(self.total_created or self.total_updated)

    def summary(self) -> str:
        if not self.changed:
            return "Directory imported: nothing changed, everything was already up to date."
        parts = [
            f"{kind} {self.created[kind]} created, {self.updated[kind]} updated"
            for kind in KINDS
            if self.created[kind] or self.updated[kind]
        ]
        return (
            f"Directory imported: {self.total_created} created, {self.total_updated} updated ("
            + "; ".join(parts)
            + ")."
        )


class Problems(list):
    """Every problem of the file, one line each: ``label: field "name": message``."""

    def add(self, label: str, field_name: str | None, message: str) -> None:
        self.append(f"{label}: {message}" if field_name is None else f'{label}: field "{field_name}": {message}')


def show(value: Any) -> str:
    """A value as the file wrote it, cut short."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def unknown(kind: str, value: str) -> str:
    plural = {"tenant": "tenants", "product": "products", "subscription": "subscriptions", "partner": "partners"}
    return f"unknown {kind} {value}: not in the file's {plural[kind]} nor in the database"


def refuse(message: str) -> NoReturn:
    """Fails a field with ``message`` as it will be shown (no placeholders are filled in)."""
    raise PydanticCustomError(_ERROR_TYPE, message)


# --------------------------------------------------------------------------- field types


def Text(max_length: int) -> Any:
    """A non-empty string, stripped, of at most ``max_length`` characters."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)]


def one_of(choices) -> Any:
    """One of ``choices`` (an enum or strings), exactly as written."""
    values = tuple(str(choice) for choice in choices)

    def check(value):
        if value not in values:
            refuse("must be one of " + ", ".join(values) + f" (got {show(value)})")
        return value

    return Annotated[str, PlainValidator(check)]


def _guid(value):
    normalized = normalize_guid(value) if isinstance(value, str) else None
    if normalized is None:
        refuse(f"must be a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e (got {show(value)})")
    return normalized


def _day(value):
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    refuse(f"must be a date written yyyy-mm-dd (got {show(value)})")


def _domain(value):
    domain = normalize_domain(value) if isinstance(value, str) else None
    if not domain or len(domain) > 253 or "." not in domain or not all(
        _DOMAIN_LABEL.match(part) for part in domain.split(".")
    ):
        refuse(f"must be a domain name such as contoso.com (got {show(value)})")
    return domain


#: Lower case, without braces, whatever case and braces the file used.
Guid = Annotated[str, PlainValidator(_guid)]
OptionalGuid = Annotated[str | None, PlainValidator(lambda value: None if value is None else _guid(value))]
#: Written yyyy-mm-dd and nothing else (no times, no timestamps).
Day = Annotated[date, PlainValidator(_day)]
OptionalDay = Annotated[date | None, PlainValidator(lambda value: None if value is None else _day(value))]
#: Lower case, without a trailing dot; a domain listed twice is kept once.
Domains = Annotated[list[Annotated[str, PlainValidator(_domain)]], AfterValidator(lambda values: list(dict.fromkeys(values)))]


# --------------------------------------------------------------------------- records


class Record(BaseModel):
    """One record of the file. ``label`` names it in messages: its place in the file and the
    identifier it was given, as given (``partners[0].users[1] (ian@fabrikam.example)``)."""

    model_config = ConfigDict(extra="forbid")

    #: The field whose raw value identifies the record in its label.
    label_key: ClassVar[str | None] = None
    _label: str = PrivateAttr("")

    @property
    def label(self) -> str:
        return self._label

    @classmethod
    def label_for(cls, prefix: str, raw: Any) -> str:
        if isinstance(raw, dict) and cls.label_key:
            ident = raw.get(cls.label_key)
            if isinstance(ident, (str, int)) and not isinstance(ident, bool) and str(ident).strip():
                return f"{prefix} ({show(ident).strip(chr(34))})"
        return prefix

    @classmethod
    @functools.cache
    def children(cls) -> dict[str, type[Record]]:
        """The fields that hold lists of records of their own (a partner's MPN IDs and users)."""
        found = {}
        for name, info in cls.model_fields.items():
            args = get_args(info.annotation)
            if get_origin(info.annotation) is list and args and isinstance(args[0], type) and issubclass(args[0], Record):
                found[name] = args[0]
        return found

    @classmethod
    @functools.cache
    def field_adapter(cls, name: str) -> TypeAdapter:
        info = cls.model_fields[name]
        return TypeAdapter(Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)


def read(model: type[Record], raw: Any, prefix: str, problems: Problems) -> Record | None:
    """``raw`` read as a ``model``, labelled; every problem in it added to ``problems``.

    A record with problems comes back without its bad fields (``MISSING``); one that is not
    even an object comes back as None."""
    try:
        record = model.model_validate(raw)
    except ValidationError as error:
        found = error.errors(include_url=False, include_context=True)
        for problem in found:
            _translate(model, raw, prefix, problem, problem["loc"], problems)
        return _partial(model, raw, prefix, [problem["loc"] for problem in found])
    _label(record, raw, prefix)
    return record


def _label(record: Record, raw: dict, prefix: str) -> None:
    record._label = type(record).label_for(prefix, raw)
    for name in type(record).children():
        for position, (child, child_raw) in enumerate(zip(getattr(record, name), raw.get(name) or [])):
            _label(child, child_raw, f"{prefix}.{name}[{position}]")


def _partial(model: type[Record], raw: Any, prefix: str, locations: list[tuple]) -> Record | None:
    if not isinstance(raw, dict) or () in locations:
        return None
    children = model.children()
    values = {}
    for name in model.model_fields:
        inside = [loc[1:] for loc in locations if loc and loc[0] == name]
        if name in children:
            items = raw.get(name)
            values[name] = [
                child
                for position, item in enumerate(items if isinstance(items, list) else [])
                if (child := _child(children[name], item, f"{prefix}.{name}[{position}]", position, inside)) is not None
            ]
        elif inside:
            values[name] = MISSING
        elif name in raw:
            try:
                values[name] = model.field_adapter(name).validate_python(raw[name])
            except ValidationError:  # a rule between fields, already reported
                values[name] = MISSING
    record = model.model_construct(**values)
    record._label = model.label_for(prefix, raw)
    return record


def _child(model: type[Record], raw: Any, prefix: str, position: int, locations: list[tuple]) -> Record | None:
    mine = [loc[1:] for loc in locations if loc and loc[0] == position]
    return _partial(model, raw, prefix, mine) if mine else read(model, raw, prefix, Problems())


def _translate(model: type[Record], raw: Any, prefix: str, problem: dict, loc: tuple, problems: Problems) -> None:
    """One pydantic error, as the line the operator reads."""
    children = model.children()
    if len(loc) >= 2 and loc[0] in children and isinstance(loc[1], int) and isinstance(raw, dict):
        name, position = loc[0], loc[1]
        item = raw[name][position]
        _translate(children[name], item, f"{prefix}.{name}[{position}]", problem, loc[2:], problems)
        return
    label = model.label_for(prefix, raw)
    kind, value = problem["type"], problem["input"]
    if not loc:
        problems.add(label, None, f"must be an object, not {show(value)}")
        return
    field_name = str(loc[0]) + "".join(f"[{part}]" for part in loc[1:])
    info = model.model_fields.get(loc[0])
    if kind == "extra_forbidden":
        expected = sorted(model.model_fields)
        message = "unknown field (expected " + ", ".join(expected) + ")"
    elif kind == "missing" or (value is None and len(loc) == 1 and info is not None and info.is_required()):
        message = "is required"
    elif kind == "list_type":
        message = f"must be a list, not {show(value)}"
    elif kind in ("string_type", "string_too_short"):
        message = f"must be a non-empty string, not {show(value)}"
    elif kind == "string_too_long":
        message = f"must be at most {problem['ctx']['max_length']} characters"
    elif kind == "bool_type":
        message = f"must be true or false (got {show(value)})"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"must be an object, not {show(value)}"
    else:
        message = problem["msg"]
    problems.add(label, field_name, message)


# --------------------------------------------------------------------------- reading and writing rows


def chunks(values, size=500):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def fetch(model, column, keys) -> list:
    """Rows whose ``column`` is one of ``keys`` (``MISSING`` and None keys ignored)."""
    rows = []
    for chunk in chunks(sorted({key for key in keys if isinstance(key, str)})):
        rows.extend(db.session.scalars(select(model).where(column.in_(chunk))))
    return rows


def assign(row, **values) -> bool:
    """Sets only the attributes that differ, so unchanged rows stay clean; True if any did.
    A value ``MISSING`` (an optional field the file left out) keeps what the row holds."""
    changed = False
    for name, value in values.items():
        if value is MISSING:
            continue
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def given(record: Record, name: str) -> Any:
    """The record's value for an optional field, or ``MISSING`` when the file left it out."""
    return getattr(record, name) if name in record.model_fields_set else MISSING


def load_file(path) -> dict:
    """The parsed JSON document at ``path``; unreadable or malformed files raise DirectoryImportError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DirectoryImportError([f"{path}: cannot be read: {error}"]) from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DirectoryImportError(
            [f"{path}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"]
        ) from error
