"""The data specification: catalogue of parameters, units, recipe schema, errors."""

from twinline.spec.errors import (
    CellError,
    MaterialError,
    ProcessError,
    RecipeError,
    SpecError,
    StructureError,
    TwinlineError,
    ValidityWarning,
)

__all__ = ["CellError", "MaterialError", "ProcessError", "RecipeError", "SpecError",
           "StructureError", "TwinlineError", "ValidityWarning"]
