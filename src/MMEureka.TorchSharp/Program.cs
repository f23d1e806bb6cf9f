using System.CommandLine;
using System.Text.Json;

namespace MMEureka.Twin;

/// <summary>
/// The <c>mmeureka-torchsharp</c> command: the TorchSharp twin's verbs, in an executable of its own so that the main
/// <c>mmeureka</c> command never loads libtorch (its <c>parity torchsharp</c> and <c>eval --device</c> start this one).
/// Exit codes: 0 ok, 1 bad input or a failed check, 3 libtorch cannot be loaded here (the message says why).
/// </summary>
public static class Program
{
    /// <summary>Exit code when TorchSharp's native library does not load on this machine.</summary>
    public const int Unavailable = 3;

    /// <summary>Builds the command tree.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("MMEureka's TorchSharp twin of MiniVlm: parity with the engine, libtorch as speed peer, GPU evaluation.");
        root.Subcommands.Add(Status());
        root.Subcommands.Add(Parity());
        root.Subcommands.Add(TwinCommands.Bench());
        root.Subcommands.Add(TwinCommands.Eval());
        root.Subcommands.Add(TwinCommands.Roundtrip());
        return root;
    }

    /// <summary>Runs the command line.</summary>
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    /// <summary>Runs <paramref name="body"/> once libtorch is loaded; bad input prints "error: ..." and exits 1.</summary>
    internal static int Run(Func<int> body)
    {
        if (!LibTorch.TryLoad(out var why))
        {
            Console.Error.WriteLine($"torchsharp unavailable: {why}");
            return Unavailable;
        }
        try { return body(); }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException
                                      or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    static Command Status()
    {
        var command = new Command("status", "Say whether TorchSharp's native library loads here, and how.");
        command.SetAction(_ => Run(() =>
        {
            Console.WriteLine(LibTorch.Describe());
            return 0;
        }));
        return command;
    }

    static Command Parity()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder (model.safetensors, config.json, tokenizer.json).", Required = true };
        var seed = new Option<long>("--seed") { Description = "Seed of the random images and tokens.", DefaultValueFactory = _ => 0 };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest allowed absolute difference.", DefaultValueFactory = _ => VlmParity.DefaultTolerance };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("parity", "Engine vs TorchSharp twin in one process on one checkpoint: logits, SFT loss and its gradients.")
            { checkpoint, seed, tolerance, json };
        command.SetAction(parse => Run(() =>
        {
            var report = VlmParity.Run(parse.GetValue(checkpoint)!, parse.GetValue(seed), parse.GetValue(tolerance));
            Console.WriteLine(parse.GetValue(json) ? JsonSerializer.Serialize(report, Json) : report.ToString());
            return report.Passed ? 0 : 1;
        }));
        return command;
    }
}
