"""hardener.record gives every record class of the package what @dataclass would.

Each record class is compared with a twin made by ``dataclasses.dataclass`` from the same
declaration (fields, defaults, factories, frozen or not): the ``__init__`` signature, the values
set (defaults, a fresh object from each factory), ``repr``, equality, hashing, assignment to a
frozen instance and ``replace``. The declarations record refuses are refused.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import hardener
from hardener.record import FrozenInstanceError, field, record, replace


def _record_classes() -> list[type]:
    found = {}
    for info in pkgutil.walk_packages(hardener.__path__, "hardener."):
        if info.name.endswith(".__main__"):
            continue  # runs the command line
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and "__record_fields__" in obj.__dict__ and obj.__module__ == info.name:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


CLASSES = _record_classes()


def _twin(cls: type) -> type:
    defaults, factories = cls.__record_defaults__
    namespace = {"__annotations__": {n: cls.__annotations__[n] for n in cls.__record_fields__},
                 "__module__": cls.__module__, "__qualname__": cls.__qualname__}
    for k, v in cls.__dict__.items():  # the class's own methods (a __repr__ of its own)
        if callable(v) and not k.startswith("__record") and not getattr(v, "__record_generated__", False) \
                and k not in ("__init__", "__setattr__", "__delattr__", "__hash__"):
            namespace[k] = v
    for n in cls.__record_fields__:
        if n in factories:
            namespace[n] = dataclasses.field(default_factory=factories[n])
        elif n in defaults:
            namespace[n] = defaults[n]
    frozen = cls.__setattr__ is not object.__setattr__
    return dataclasses.dataclass(frozen=frozen)(type(cls.__name__, (), namespace))


def _required(cls: type) -> dict:
    defaults, factories = cls.__record_defaults__
    return {n: f"value-{i}" for i, n in enumerate(cls.__record_fields__) if n not in defaults and n not in factories}


def test_the_package_has_record_classes():
    assert len(CLASSES) >= 30
    assert not any(dataclasses.is_dataclass(c) for c in CLASSES)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_record_matches_its_dataclass_twin(cls):
    twin = _twin(cls)
    args = _required(cls)
    a, t = cls(**args), twin(**args)
    # the compiled __init__ has the dataclass's parameters, in order, with the same defaults
    mine = inspect.signature(cls.__init__).parameters
    theirs = inspect.signature(twin.__init__).parameters
    assert list(mine) == list(theirs)
    defaults, factories = cls.__record_defaults__
    for name in cls.__record_fields__:
        assert (mine[name].default is inspect.Parameter.empty) == (theirs[name].default is inspect.Parameter.empty)
        if name in defaults:
            assert mine[name].default is theirs[name].default
    # the same values, a fresh object from each factory
    for name in cls.__record_fields__:
        assert getattr(a, name) == getattr(t, name)
        if name in factories:
            assert getattr(a, name) is not getattr(cls(**args), name)
    assert repr(a) == repr(t)
    assert a == cls(**args) and not (a != cls(**args))
    assert a != t  # another class: not equal, as between two dataclasses
    for name in cls.__record_fields__:
        changed = {**args, name: object()}
        assert (cls(**changed) == a) == (twin(**changed) == t) is False
    frozen = twin.__hash__ is not None
    if frozen:
        assert hash(a) == hash(cls(**args)) == hash(t)
        with pytest.raises(FrozenInstanceError):
            setattr(a, cls.__record_fields__[0], 1)
        with pytest.raises(FrozenInstanceError):
            delattr(a, cls.__record_fields__[0])
    else:
        with pytest.raises(TypeError):
            hash(a)
    # replace: the same as dataclasses.replace
    if cls.__record_fields__:
        name = cls.__record_fields__[-1]
        other = replace(a, **{name: "changed"})
        assert repr(other) == repr(dataclasses.replace(t, **{name: "changed"}))
        assert getattr(a, name) != "changed" or name not in args
    with pytest.raises(TypeError):
        replace(a, no_such_field=1)


def test_init_is_compiled_once_even_through_an_old_reference():
    @record
    class Point:
        x: int
        y: int = 2

    first = Point.__init__
    assert Point(1).y == 2
    compiled = Point.__init__
    assert compiled is not first
    p = Point.__new__(Point)
    first(p, 5, 6)  # a reference taken before the first instance
    assert (p.x, p.y) == (5, 6) and Point.__init__ is compiled
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, 2, 3)
    with pytest.raises(TypeError):
        Point(1, z=3)


def test_own_methods_are_kept():
    @record(frozen=True)
    class Name:
        value: str

        def __repr__(self) -> str:
            return f"<{self.value}>"

        def __hash__(self) -> int:
            return 7

    assert repr(Name("a")) == "<a>" and hash(Name("a")) == 7


@pytest.mark.parametrize("body, error", [
    ("x: list = []", ValueError),
    ("x: int = 1\n    y: int", TypeError),
    ("x: ClassVar[int] = 1", TypeError),
    ("x: int = field(default=1, repr=False)", TypeError),
    ("x: int\n    def __post_init__(self): pass", TypeError),
])
def test_unsupported_declarations_are_refused(body, error):
    source = f"from __future__ import annotations\nclass C:\n    {body}\n"
    namespace = {"field": field}
    exec(source, namespace)
    with pytest.raises(error):
        record(namespace["C"])


def test_a_record_may_not_inherit_from_a_record():
    @record
    class Base:
        x: int

    class Child(Base):
        y: int

    with pytest.raises(TypeError):
        record(Child)
