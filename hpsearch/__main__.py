from hpsearch.cli import program

program()
