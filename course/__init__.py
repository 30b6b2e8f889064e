"""The course pipeline: source -> release -> submitted -> autograded / grades -> feedback."""
