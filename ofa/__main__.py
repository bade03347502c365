from ofa.cli import main

main()
