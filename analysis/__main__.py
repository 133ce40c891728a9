"""``python -m analysis score …``: the scoring command without the web app installed."""

import click

from .cli import score


@click.group()
def main() -> None:
    """SIPAS scoring."""


main.add_command(score)

if __name__ == "__main__":
    main(prog_name="python -m analysis")
