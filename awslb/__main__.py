from awslb.cli import main

main()
