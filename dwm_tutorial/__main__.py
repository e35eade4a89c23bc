"""`python -m dwm_tutorial`: the same command as `dwm-reproduce` (written by hand: no notebook exports this file)."""
from .cli import main

if __name__ == '__main__': main()
