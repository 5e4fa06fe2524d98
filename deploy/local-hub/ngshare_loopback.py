"""ngshare as a service of the local hub, listening on 127.0.0.1 only.

As a hub-managed service ngshare binds every interface (on Kubernetes it is its own pod);
on one machine the course keeps every server on the loopback interface.
"""

import sys

import ngshare.ngshare as ngshare

_listen = ngshare.HTTPServer.listen
ngshare.HTTPServer.listen = lambda self, port, address="": _listen(self, port, "127.0.0.1")
ngshare.main(sys.argv[1:])
