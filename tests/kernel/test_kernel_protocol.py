"""jupyter_kernel_test's protocol checks against `mmeureka kernel` (kernelspec name from MMEUREKA_KERNEL_NAME).

Run by run_kernel_checks.sh, which installs the kernelspec into a temporary prefix and points JUPYTER_PATH at it.
"""
import os
import sys
import unittest

try:
    import jupyter_kernel_test
except ImportError as e:  # pragma: no cover - the script checks first; this keeps a direct run honest
    print(f"SKIP: jupyter_kernel_test is not installed ({e}); apt-get install python3-jupyter-kernel-test")
    sys.exit(0)


class MMEurekaKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("MMEUREKA_KERNEL_NAME", "mmeureka-csharp")
    language_name = "C#"
    file_extension = ".cs"

    code_hello_world = 'Console.WriteLine("hello, world");'
    code_stderr = 'Console.Error.WriteLine("careful");'
    code_generate_error = 'throw new InvalidOperationException("boom");'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "\"text\"", "result": "text"},
        {"code": "new[] { 1, 2, 3 }.Select(x => x * x)", "result": "[1, 4, 9]"},
        {"code": "HTML(\"<b>bold</b>\")", "mime": "text/html", "result": "<b>bold</b>"},
    ]
    code_display_data = [
        {"code": 'display(HTML("<i>hi</i>"));', "mime": "text/html"},
        {"code": 'display(3.5, "text/plain");', "mime": "text/plain"},
    ]
    completion_samples = [
        {"text": "Console.Wri", "matches": {"Write", "WriteLine"}},
        {"text": "Math.Sq", "matches": {"Sqrt"}},
    ]
    complete_code_samples = ["1 + 1", "var x = 1;", "for (int i = 0; i < 2; i++) { }", '#r "System.dll"']
    incomplete_code_samples = ["for (int i = 0; i < 3; i++) {", "var s = new[] {", "void F() {"]
    invalid_code_samples = ["int x = ;", "1 +;", "Console.WriteLine(\"a\"));"]
    code_inspect_sample = "Math.Sqrt"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The first cell pays for Roslyn's warm-up (seconds on a loaded machine); the checks give each reply 15 s.
        cls.kc.execute_interactive("1", timeout=120)


if __name__ == "__main__":
    unittest.main(verbosity=2)
