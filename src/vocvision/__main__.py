"""`python -m vocvision`: the command line."""

from vocvision.cli import main

main()
