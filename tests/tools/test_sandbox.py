import pytest

from vetted_rag.tools.sandbox import SandboxLimits, run_python

LIMITS = SandboxLimits(wall_time_s=5, cpu_time_s=3)


def test_correct_snippet_passes():
    result = run_python("print(sum(range(10)))", LIMITS)
    assert result.ok and result.stdout.strip() == "45"


@pytest.mark.parametrize("name,code,expect", [
    ("syntax error", "def f(:\n    pass", "SyntaxError"),
    ("exception", "raise ValueError('boom')", "ValueError: boom"),
    ("infinite loop", "while True:\n    pass", "SIG"),
    ("fork bomb", "import os\nwhile True:\n    os.fork()", "Error"),
    ("memory bomb", "x = bytearray(4 * 1024 ** 3)", "MemoryError"),
    ("socket", "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=2)", "Error"),
    ("write outside", "open('/etc/vetted-rag-sandbox-test', 'w').write('x')", "Error"),
])
def test_hostile_code_is_contained_and_reported(name, code, expect):
    result = run_python(code, LIMITS)
    assert not result.ok and expect in result.error, result
    print(f"{name}: {result.error} (network isolation: {result.network_isolation})")


def test_huge_output_is_capped():
    result = run_python("print('x' * 10_000_000)", LIMITS)
    assert result.truncated and len(result.stdout) <= LIMITS.max_output_bytes


def test_nothing_was_written_outside():
    import os
    assert not os.path.exists("/etc/vetted-rag-sandbox-test")


def test_sandbox_is_a_typed_langchain_tool():
    from vetted_rag.tools.sandbox import sandbox_tool

    assert sandbox_tool.args_schema.model_json_schema()["required"] == ["code"]
    assert sandbox_tool.invoke({"code": "print(6 * 7)"})["stdout"].strip() == "42"
