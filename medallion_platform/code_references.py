"""Code references: an asset's page in the Dagster UI links to the file that defines it (a dbt model's
SQL file comes from dagster-dbt, defs/dbt.py). Local paths: no repository URL is configured."""

import warnings
from collections.abc import Sequence

from dagster import AssetsDefinition, AssetSpec, BetaWarning, with_source_code_references
from dagster._core.definitions.metadata.source_code import (
    CodeReferencesMetadataSet,
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
)


def with_code_references(assets: Sequence[AssetsDefinition | AssetSpec]) -> list[AssetsDefinition | AssetSpec]:
    """Each asset built by a Python function gets that function's file and line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return list(with_source_code_references(assets))


def declared_in(module_file: str) -> dict:
    """Metadata for an asset with no function of its own (an external asset): the module declaring it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return dict(CodeReferencesMetadataSet(code_references=CodeReferencesMetadataValue(
            code_references=[LocalFileCodeReference(file_path=module_file)])))
