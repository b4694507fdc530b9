"""The demo application that `vouch demo` builds, signs and admits."""

import urllib3


def main() -> None:
    print(f"hello from a vouched image (urllib3 {urllib3.__version__})")


if __name__ == "__main__":
    main()
