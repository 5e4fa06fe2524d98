# nbgrader reads its configuration from the directory it runs in; the course's
# configuration lives in grader/nbgrader_config.py.
c = get_config()  # noqa: F821
load_subconfig("grader/nbgrader_config.py")  # noqa: F821
