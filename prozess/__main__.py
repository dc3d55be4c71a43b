from prozess.cli import main

main()
