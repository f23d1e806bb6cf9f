using System.CommandLine;
using MMEureka.Cli.Bench;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka parity block --out DIR [--seed N] [--seq T]</c>: writes a transformer block's parameters,
/// input, output and gradients for <c>bench/parity.py block DIR</c> to check against PyTorch.</summary>
internal static class ParityCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write config.json and block.safetensors into.", Required = true };
        var seed = new Option<long>("--seed") { Description = "Seed for parameters, input and upstream gradient.", DefaultValueFactory = _ => 0 };
        var seq = new Option<int>("--seq") { Description = "Sequence length (more than 4 uses the GEMM attention path, up to 4 the dot-product path).", DefaultValueFactory = _ => 12 };
        var block = new Command("block", "Write one transformer block's output and gradients for bench/parity.py block DIR.");
        block.Options.Add(output);
        block.Options.Add(seed);
        block.Options.Add(seq);
        block.SetAction(parse =>
        {
            var dir = parse.GetValue(output)!;
            int t = parse.GetValue(seq);
            if (t < 1)
            {
                Console.Error.WriteLine($"parity block: --seq must be positive, got {t}");
                return 1;
            }
            BlockParity.Write(dir.FullName, new BlockParityConfig(Seq: t, Seed: parse.GetValue(seed)));
            Console.WriteLine($"wrote {Path.Combine(dir.FullName, "config.json")} and block.safetensors; check with: python3 bench/parity.py block {dir.FullName}");
            return 0;
        });
        var parity = new Command("parity", "Fixtures for the PyTorch parity checks in bench/parity.py; the TorchSharp twin's in-process check.");
        parity.Subcommands.Add(block);
        parity.Subcommands.Add(TorchSharp());
        return parity;
    }

    /// <summary><c>parity torchsharp --checkpoint DIR [--seed N] [--json]</c>: the engine and the TorchSharp twin in one
    /// process (the twin's executable), logits and SFT-loss gradients within 1e-4.</summary>
    static Command TorchSharp()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder.", Required = true };
        var seed = new Option<long>("--seed") { Description = "Seed of the random images and tokens.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("torchsharp", "Engine vs its TorchSharp twin on one checkpoint: logits, SFT loss and gradients (needs the twin built: README, TorchSharp).")
            { checkpoint, seed, json };
        command.SetAction(parse => MMEureka.Interop.TorchSharpTwin.RunAttached([
            "parity", "--checkpoint", Path.GetFullPath(parse.GetValue(checkpoint)!), "--seed", parse.GetValue(seed).ToString(),
            .. parse.GetValue(json) ? new[] { "--json" } : []]));
        return command;
    }
}
