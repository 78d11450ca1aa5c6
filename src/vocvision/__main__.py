from vocvision.cli import main

main()
