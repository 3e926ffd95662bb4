"""Serves the shared Modbus register maps with RTU framing over TCP, as a serial-to-Ethernet
gateway in "transparent" mode does. Reuses the fixtures' own serve.py (pymodbus) for the
register images and changes only the framer.

Usage: modbus_rtu_peer.py SHARED_DIR PORT
"""

import asyncio
import importlib.util
import signal
import sys
from pathlib import Path


def main() -> int:
    shared, port = Path(sys.argv[1]), int(sys.argv[2])
    spec = importlib.util.spec_from_file_location("serve", shared / "fixtures/modbus/serve.py")
    serve = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the module is being executed.
    sys.modules["serve"] = serve
    spec.loader.exec_module(serve)
    from pymodbus import FramerType

    pm = serve._import_pymodbus()
    ModbusTcpServer = pm[2]
    devs = [serve.load(str(p)) for p in sorted((shared / "fixtures/modbus").glob("*.toml"))]

    async def run() -> int:
        sims = [serve.build_simdevice(d, d.unit_id, False, pm) for d in devs]
        server = ModbusTcpServer(sims, address=("127.0.0.1", port), framer=FramerType.RTU)
        server.context = serve.make_core(sims, pm)
        await server.serve_forever(background=True)
        print("ready", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.shutdown()
        return 0

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
