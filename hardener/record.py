"""Record classes: what ``@dataclass`` gives the package, without its cost at start-up.

``dataclasses`` writes and compiles every generated method of a class when the class is made:
about a millisecond per class here, 36 ms of the 190 ms it takes to harden one small file, for
the 40-odd classes of the package, most of them unused in a given run. :func:`record` gives the
same classes -- the ``__init__``, ``__repr__``, ``__eq__`` and, for ``frozen=True``,
``__hash__``, ``__setattr__`` and ``__delattr__`` that ``@dataclass`` / ``@dataclass(frozen=True)``
would -- but compiles ``__init__`` only when the class is first instantiated (from the source
dataclasses would write, so that making many instances costs what it does with dataclasses), and
compares, hashes and prints through C accessors (``operator.attrgetter``) without compiling
anything. :func:`replace` is :func:`dataclasses.replace` for records.

Declarations are written as for dataclasses: annotated fields in order, defaults, and
``field(default=...)`` / ``field(default_factory=...)`` (the :func:`dataclasses.field` of the
standard library, re-exported here). Nothing else of ``dataclasses`` is supported: a record class
may not inherit from another record, and ``__post_init__``, ``InitVar``, ``ClassVar`` and the
other options of ``field`` are refused when the class is made.
"""

from __future__ import annotations

import reprlib
from dataclasses import MISSING, Field, FrozenInstanceError, field
from operator import attrgetter
from typing import Any, Callable, TypeVar

__all__ = ["record", "replace", "field", "FrozenInstanceError"]

T = TypeVar("T")
_HAS_FACTORY = object()  # the default of a parameter whose field has a default_factory


def record(cls: type[T] | None = None, /, *, frozen: bool = False) -> Any:
    """``@record`` / ``@record(frozen=True)``: see the module's documentation."""

    def wrap(c: type[T]) -> type[T]:
        return _make(c, frozen)

    return wrap if cls is None else wrap(cls)


def replace(obj: T, **changes: Any) -> T:
    """A copy of the record ``obj`` with ``changes``, as :func:`dataclasses.replace`."""
    names = obj.__record_fields__  # type: ignore[attr-defined]
    unknown = set(changes).difference(names)
    if unknown:
        raise TypeError(f"{type(obj).__qualname__} has no field {sorted(unknown)[0]!r}")
    return type(obj)(**{n: changes[n] if n in changes else getattr(obj, n) for n in names})


def _make(cls: type[T], frozen: bool) -> type[T]:
    own = cls.__dict__
    if any(hasattr(base, "__record_fields__") for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__qualname__}: a record may not inherit from another record")
    if "__post_init__" in own:
        raise TypeError(f"{cls.__qualname__}: __post_init__ is not supported by record")
    names: list[str] = []
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name, annotation in own.get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.split("[", 1)[0].rsplit(".", 1)[-1] in ("ClassVar", "InitVar", "KW_ONLY"):
            raise TypeError(f"{cls.__qualname__}.{name}: {annotation} is not supported by record")
        value = own.get(name, MISSING)
        if isinstance(value, Field):
            if not (value.init and value.repr and value.compare and value.hash is None and not value.metadata
                    and value.kw_only is MISSING):
                raise TypeError(f"{cls.__qualname__}.{name}: only field(default=...) and "
                                "field(default_factory=...) are supported by record")
            if value.default is not MISSING:
                defaults[name] = value.default
                setattr(cls, name, value.default)
            else:
                if value.default_factory is not MISSING:
                    factories[name] = value.default_factory
                delattr(cls, name)
        elif value is not MISSING:
            if isinstance(value, (list, dict, set)):  # as dataclasses refuses them
                raise ValueError(f"mutable default {type(value)} for field {name} is not allowed: use default_factory")
            defaults[name] = value
        if names and name not in defaults and name not in factories and \
                (names[-1] in defaults or names[-1] in factories):
            raise TypeError(f"non-default argument {name!r} follows default argument")
        names.append(name)
    fields = tuple(names)
    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    cls.__record_defaults__ = (defaults, factories)  # type: ignore[attr-defined]
    cls.__match_args__ = fields  # type: ignore[attr-defined]

    def build_init() -> Callable[..., None]:
        return _compile_init(cls, fields, defaults, factories, frozen)

    _set(cls, "__init__", _compiled_on_first_call(cls, "__init__", build_init))
    _set(cls, "__repr__", _repr(fields))
    get = _getter(fields)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return get(self) == get(other)
        return NotImplemented

    _set(cls, "__eq__", __eq__)
    if frozen:
        if "__hash__" not in own:
            cls.__hash__ = lambda self: hash(get(self))  # type: ignore[method-assign,assignment]
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
        cls.__setattr__ = _frozen_setattr(cls)  # type: ignore[method-assign,assignment]
        cls.__delattr__ = _frozen_delattr(cls)  # type: ignore[method-assign,assignment]
    elif "__hash__" not in own:
        cls.__hash__ = None  # type: ignore[assignment]  # eq without frozen: unhashable, as dataclasses
    return cls


def _set(cls: type, name: str, value: Callable) -> None:
    """Add a generated method unless the class defines its own (as dataclasses does)."""
    if name not in cls.__dict__:
        value.__qualname__ = f"{cls.__qualname__}.{name}"
        value.__record_generated__ = True  # type: ignore[attr-defined]
        setattr(cls, name, value)


def _getter(fields: tuple[str, ...]) -> Callable[[Any], tuple]:
    """The fields' values as a tuple, read in C."""
    if not fields:
        return lambda self: ()
    if len(fields) == 1:
        one = attrgetter(fields[0])
        return lambda self: (one(self),)
    return attrgetter(*fields)


def _repr(fields: tuple[str, ...]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in fields)
        return f"{self.__class__.__qualname__}({inner})"

    return __repr__


def _compiled_on_first_call(cls: type, name: str, build: Callable[[], Callable]) -> Callable:
    """A method that compiles the real one, puts it on the class, and calls it."""

    built: list[Callable] = []

    def first_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not built:  # (a reference to this method kept from before compiles nothing again)
            method = build()
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)  # type.__setattr__: frozen instances, not classes
            built.append(method)
        return built[0](self, *args, **kwargs)

    first_call.__name__ = name
    return first_call


def _compile_init(cls: type, fields: tuple[str, ...], defaults: dict[str, Any],
                  factories: dict[str, Callable[[], Any]], frozen: bool) -> Callable[..., None]:
    """``__init__`` as dataclasses writes it: one assignment per field, a default_factory called
    when its parameter was not given."""
    params = ["self"]
    body = []
    scope: dict[str, Any] = {"_HAS_FACTORY": _HAS_FACTORY, "_setattr": object.__setattr__}
    for name in fields:
        if name in factories:
            scope[f"_factory_{name}"] = factories[name]
            params.append(f"{name}=_HAS_FACTORY")
            value = f"_factory_{name}() if {name} is _HAS_FACTORY else {name}"
        elif name in defaults:
            scope[f"_default_{name}"] = defaults[name]
            params.append(f"{name}=_default_{name}")
            value = name
        else:
            params.append(name)
            value = name
        body.append(f"_setattr(self, {name!r}, {value})" if frozen else f"self.{name} = {value}")
    source = f"def __init__({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<record {cls.__module__}.{cls.__qualname__}>", "exec"), scope, namespace)
    return namespace["__init__"]


def _frozen_setattr(cls: type) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in cls.__record_fields__:  # type: ignore[attr-defined]
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    return __setattr__


def _frozen_delattr(cls: type) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in cls.__record_fields__:  # type: ignore[attr-defined]
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return __delattr__
