from relitigate.cli.app import main

main()
