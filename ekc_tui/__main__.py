from ekc_tui.cli import main

main()
