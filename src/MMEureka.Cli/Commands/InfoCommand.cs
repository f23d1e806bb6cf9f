using System.CommandLine;
using System.Runtime.InteropServices;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka info</c>: what this machine gives the engine (runtime, cores, SIMD).</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print runtime, core count and SIMD support.");
        command.SetAction(_ =>
        {
            Console.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription}");
            Console.WriteLine($"cores: {Environment.ProcessorCount}");
            Console.WriteLine($"avx2: {System.Runtime.Intrinsics.X86.Avx2.IsSupported}, fma: {System.Runtime.Intrinsics.X86.Fma.IsSupported}");
            return 0;
        });
        return command;
    }
}
