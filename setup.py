"""Maps the top-level folders onto the `prozess` namespace.

cluster/, workloads/, nemesis/ and checkers/ live beside prozess/ in the
repository but install as prozess.cluster, prozess.workloads, ... so that nothing
generic such as `import checkers` lands at the top level of site-packages.
"""

from setuptools import find_packages, setup

ROOTS = {
    "prozess": "prozess",
    "prozess.cluster": "cluster",
    "prozess.workloads": "workloads",
    "prozess.nemesis": "nemesis",
    "prozess.checkers": "checkers",
}

packages = []
for package, folder in ROOTS.items():
    packages.append(package)
    packages += [f"{package}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=ROOTS)
