from dockerforge.cli import main

main()
