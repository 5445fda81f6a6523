"""storage.tables is the schema; the ORM classes of storage.models map it and type every column (#21)."""

from __future__ import annotations

from sqlalchemy import inspect

from cowrieprocessor.storage import models, tables


def _typed(cls: type) -> set[str]:
    """Annotated attributes of the class and of its mixins (the artifact inventories share their columns)."""
    return {
        name for klass in cls.__mro__ if klass is not models.Base for name in vars(klass).get("__annotations__", {})
    }


def test_every_table_has_its_orm_class_typed_column_by_column() -> None:
    classes = {cls.__table__.name: cls for cls in models.Base.__subclasses__()}
    assert set(classes) == set(tables.metadata.tables)
    for name, cls in classes.items():
        mapped = {attr.key for attr in inspect(cls).column_attrs}
        typed = _typed(cls)
        assert typed == mapped, f"{name}: typed {sorted(typed ^ mapped)} differ from the mapped columns"
        assert len(mapped) == len(tables.metadata.tables[name].columns)
        assert cls.__tablename__ == name


def test_the_check_sees_an_untyped_column() -> None:
    """The check can fail: a column without its annotation is mapped but not typed."""
    cls = models.IPInventory
    typed = _typed(cls) - {"claimed_by"}
    assert typed != {attr.key for attr in inspect(cls).column_attrs}


def test_queries_need_no_orm() -> None:
    import subprocess
    import sys

    script = "import sys, cowrieprocessor.storage.tables\nprint('sqlalchemy.orm' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "False"
