"""stub"""


def install_export_menu(window) -> None:
    pass
