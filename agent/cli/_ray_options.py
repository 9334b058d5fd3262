"""The `--ray` options `batch` and `exec` share, and the settings they make."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from harmony_agent.batch._ray import RaySettings

__all__ = ["RayAddressOption", "RayWorkersOption", "ray_settings"]

RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Run on a Ray cluster (the ray extra): its head's host:port, ray://host:10001, "
        "auto (the cluster this machine is in) or local (a new one here). -c is per worker.",
    ),
]
RayWorkersOption = Annotated[
    int | None,
    typer.Option("--ray-workers", min=1, help="Ray workers; default: one per cluster CPU."),
]


def ray_settings(
    address: str | None, workers: int | None, num_gpus: float = 0.0
) -> RaySettings | None:
    """The cluster to run on, None without `--ray`; raises `ConfigError` saying how to
    install the ray extra when it is missing, before anything starts.
    """
    if address is None:
        return None
    from harmony_agent.batch._ray import RaySettings, import_ray

    import_ray()
    return RaySettings(address=address, workers=workers, num_gpus=num_gpus)
