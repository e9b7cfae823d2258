"""The garbage collector of a process that serves the site.

Python's cyclic garbage collector runs each time enough new objects have been allocated, and
its oldest generation holds everything loaded with the site: Django, the apps, their modules and
URL patterns, some hundreds of thousands of objects. A page that allocates many objects (the
safety report at 2,000 participants makes about 150,000) set off collections that scanned all of
them again, a third of its time. Frozen once the site is loaded, those objects are left out of
every collection (they live as long as the process anyway), and a page pays for its own objects
only.
"""

import gc


def freeze_loaded_objects() -> None:
    """Collect what is garbage now, then move every object still alive out of the collector's
    generations for the rest of the process."""
    gc.collect()
    gc.freeze()
