"""Audit's GeoIP test databases, with the PyPI packages mmdb-writer and maxminddb.

  geoip.py write OUT RECORD_SIZE [PAD]
                                   writes a small City database (IPv6 tree, IPv4 inside it) with
                                   24-, 28- or 32-bit records; PAD bytes of padding before the
                                   cities' records make their record values need more than 24 bits
  geoip.py read DB                 looks up each address read from stdin with MaxMind's reference
                                   reader and prints one canonical line per address

The canonical form (sorted map keys, integers in decimal, floats as Python's repr, bytes as
hex) is what the Swift test renders its own reader's records in, to compare them.
"""
import sys

from netaddr import IPSet


def city(name, country, latitude, longitude, geoname_id):
    from mmdb_writer import MmdbF64, MmdbU16, MmdbU32
    return {
        "city": {"geoname_id": MmdbU32(geoname_id), "names": {"en": name, "de": name + " (de)"}},
        "country": {"iso_code": country, "names": {"en": country}},
        "location": {"latitude": MmdbF64(latitude), "longitude": MmdbF64(longitude), "accuracy_radius": MmdbU16(20)},
    }


# Networks of the test database: invented assignments of public blocks, far apart and near.
NETWORKS = [
    # A record full of every data type; its long strings push later records past the 2 KiB and
    # 512 KiB pointer boundaries, so all pointer sizes occur.
    (["1.0.0.0/24"], "types"),
    # Padding (empty unless asked for) that puts the cities' records beyond 2^24 bytes.
    # The reference reader refuses to decode a value this large, so no test looks it up.
    (["1.0.1.0/24"], "padding"),
    (["5.10.0.0/16", "2a01:4f8::/32"], ("Berlin", "DE", 52.52, 13.405, 2950159)),
    (["5.10.128.0/17"], ("Hamburg", "DE", 53.5511, 9.9937, 2911298)),
    (["5.11.0.0/16"], ("Potsdam", "DE", 52.3906, 13.0645, 2852458)),
    (["1.120.0.0/13", "2001:44b8::/32"], ("Sydney", "AU", -33.8688, 151.2093, 2147714)),
    (["23.20.0.0/14"], ("New York", "US", 40.7128, -74.006, 5128581)),
    (["43.224.0.0/16"], ("Tokyo", "JP", 35.6895, 139.6917, 1850147)),
    (["41.0.0.0/16"], "country-only"),
]


def record(kind, pad=0):
    from mmdb_writer import MmdbF32, MmdbI32, MmdbU64, MmdbU128
    if kind == "types":
        # In this order: "a" repeats within the first 2 KiB, the keys "names" and "en" first
        # occur between 2 KiB and 512 KiB, and the cities' values after the long string.
        return {
            "bool_true": True, "bool_false": False, "float": MmdbF32(0.5), "int32": MmdbI32(-123456),
            "uint64": MmdbU64(2**40 + 7), "uint128": MmdbU128(2**100 + 3), "bytes": b"\x00\x01\xfe",
            "array": ["a", MmdbI32(-1), [True], "a"], "empty": {}, "medium": "m" * 3000, "names": {"en": "types"},
            "long": "l" * 600_000, "utf8": "Zürich – 東京",
        }
    if kind == "padding":
        return {"padding": "p" * pad}
    if kind == "country-only":
        return {"country": {"iso_code": "ZA", "names": {"en": "ZA"}}}
    return city(*kind)


def write(out, record_size, pad):
    from mmdb_writer import MMDBWriter, TreeWriter

    class FixedRecordSize(TreeWriter):
        """mmdb-writer picks the smallest record size; tests need each of 24, 28 and 32."""

        def _adjust_record_size(self):
            super()._adjust_record_size()
            self.record_size = record_size
            self.data_offset = self.record_size * 2 / 8 * self._node_counter

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en"],
                        description="Rampart audit test database")
    for networks, kind in NETWORKS:
        writer.insert_network(IPSet(networks), record(kind, pad))
    FixedRecordSize(writer.tree, writer._build_meta(), writer.int_type, writer.float_type).write(out)


def canonical(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, (bytes, bytearray)):
        return "b" + bytes(value).hex()
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(k + ":" + canonical(value[k]) for k in sorted(value)) + "}"
    raise TypeError(type(value))


def read(path):
    import maxminddb
    with maxminddb.open_database(path) as reader:
        for line in sys.stdin:
            address = line.strip()
            if address:
                print(address + " " + canonical(reader.get(address)))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    else:
        read(sys.argv[2])
