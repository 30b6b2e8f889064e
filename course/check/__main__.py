"""``python -m course.check [NOTEBOOK]``: check_my_work() from a terminal."""

from course.check.my_work import main

if __name__ == "__main__":
    main()
