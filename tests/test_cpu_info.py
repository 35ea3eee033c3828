"""/proc/cpuinfo as the benchmarks and the trainer read it, from x86 and ARM, and where there is none."""

from __future__ import annotations

from bench.machine import machine_description
from emojitui.shared.cpu import read_cpu_info

X86 = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8

processor\t: 1
model name\t: Another CPU
flags\t\t: fpu
"""
PI5 = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm aes crc32 cpuid asimdrdm lrcpc dcpop asimddp

Hardware\t: BCM2835
Model\t\t: Raspberry Pi 5 Model B Rev 1.0
"""


def test_the_first_cpus_model_and_flags_are_read(tmp_path):
    (tmp_path / "cpuinfo").write_text(X86)
    cpu = read_cpu_info(tmp_path / "cpuinfo")
    assert cpu is not None and cpu.model == "Intel(R) Xeon(R) Processor"
    assert {"avx2", "amx_bf16", "avx512_vnni"} <= cpu.flags and "fpu" in cpu.flags
    description = machine_description(tmp_path / "cpuinfo")
    assert "Intel(R) Xeon(R) Processor (avx2, avx512_vnni, amx_int8, avx512_bf16, amx_bf16, " in description


def test_an_arm_cpu_lists_features_and_no_model_in_its_first_block(tmp_path):
    (tmp_path / "cpuinfo").write_text(PI5)
    cpu = read_cpu_info(tmp_path / "cpuinfo")
    assert cpu is not None and "asimddp" in cpu.flags and cpu.model == ""
    assert "(asimddp, " in machine_description(tmp_path / "cpuinfo")


def test_no_cpuinfo_is_none_not_an_error(tmp_path):
    assert read_cpu_info(tmp_path / "absent") is None
    assert machine_description(tmp_path / "absent").endswith("cores)")
