def attach_to_admins() -> None:
    pass
