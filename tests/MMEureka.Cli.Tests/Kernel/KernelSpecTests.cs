using System.Text.Json.Nodes;
using MMEureka.Cli.Kernel;
using MMEureka.Cli.Tests.Notebooks;

namespace MMEureka.Cli.Tests.Kernel;

public class KernelSpecTests
{
    [Fact]
    public void InstallWritesAKernelspecThatStartsTheKernelVerbAndUninstallRemovesIt()
    {
        var prefix = TestNotebooks.NewFolder();
        var kernels = KernelSpec.KernelsDirectory(prefix);
        Assert.Equal(Path.Combine(prefix, "share", "jupyter", "kernels"), kernels);
        var folder = KernelSpec.Install(kernels, KernelSpec.DefaultName, ["/opt/mmeureka", "kernel", "--connection-file", "{connection_file}"]);
        var spec = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "kernel.json")))!;
        Assert.Equal(["/opt/mmeureka", "kernel", "--connection-file", "{connection_file}"], spec["argv"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal("C#", spec["language"]!.GetValue<string>());
        Assert.Equal("message", spec["interrupt_mode"]!.GetValue<string>());
        Assert.Contains("MMEureka", spec["display_name"]!.GetValue<string>());
        Assert.False(File.Exists(Path.Combine(folder, "kernel.json.tmp")));
        Assert.True(KernelSpec.Uninstall(kernels, KernelSpec.DefaultName));
        Assert.False(Directory.Exists(folder));
        Assert.False(KernelSpec.Uninstall(kernels, KernelSpec.DefaultName));
    }

    [Fact]
    public void ArgvIsAbsoluteAndEndsWithTheKernelVerb()
    {
        var argv = KernelSpec.Argv();
        Assert.True(Path.IsPathRooted(argv[0]));
        Assert.Equal(["kernel", "--connection-file", "{connection_file}"], argv[^3..]);
    }

    [Fact]
    public void ConnectionFileErrorsNameTheField()
    {
        var file = Path.Combine(TestNotebooks.NewFolder(), "kernel-1.json");
        File.WriteAllText(file, "{\"shell_port\": 1, \"control_port\": 2, \"stdin_port\": 3, \"iopub_port\": 4, \"hb_port\": 0, \"key\": \"k\"}");
        var e = Assert.Throws<FormatException>(() => ConnectionInfo.Load(file));
        Assert.Contains("'hb_port'", e.Message);
        File.WriteAllText(file, "{\"transport\": \"ipc\", \"shell_port\": 1, \"control_port\": 2, \"stdin_port\": 3, \"iopub_port\": 4, \"hb_port\": 5}");
        Assert.Contains("'transport'", Assert.Throws<FormatException>(() => ConnectionInfo.Load(file)).Message);
    }
}
