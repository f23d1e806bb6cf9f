using System.CommandLine;
using MMEureka.Cli.Reproduce;
using MMEureka.Sft;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka reproduce</c>: the whole pipeline of the three papers, then report.html and results.json.</summary>
internal static class ReproduceCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "tiny (CI, minutes), quick (this machine, about 2 hours) or full.", DefaultValueFactory = _ => "quick" };
        preset.AcceptOnlyFromAmong("tiny", "quick", "full");
        var output = new Option<string?>("--out") { Description = "Folder of the report (report.html, results.json, stages.json). Default: runs/reproduce-PRESET." };
        var runs = new Option<string>("--runs") { Description = "Root of the stages' run folders (the notebooks read runs/).", DefaultValueFactory = _ => "runs" };
        var data = new Option<string?>("--data") { Description = "MiniK12 folder (generated when missing). Default: data/generated/minik12[-tiny]." };
        var until = new Option<string?>("--until") { Description = "Stop after this stage (e.g. sft, rl-grpo, sweep, annotate); the next call continues." };
        var list = new Option<bool>("--list") { Description = "List the stages with their folders and whether each is finished, and exit." };
        var command = new Command("reproduce", "Run data -> SFT -> RL (GRPO, CPGD, MM-Eureka and its ablations) -> annotation -> PRM (soft, hard, ORM, " +
                                               "learning rates) -> Best-of-N -> CPGD's stability sweep, reusing finished run folders and continuing an interrupted one; " +
                                               "then write report.html and results.json beside the papers' numbers.")
            { preset, output, runs, data, until, list };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            string presetName = parse.GetValue(preset)!;
            string runsDir = parse.GetValue(runs)!;
            string outDir = parse.GetValue(output) ?? Path.Combine(runsDir, "reproduce-" + presetName);
            // The stages' verbs pick the managed GEMM for this model size; so does the in-process BoN stage.
            if (Environment.GetEnvironmentVariable(Torch.Gemm.EnvironmentVariable) is null)
                Environment.SetEnvironmentVariable(Torch.Gemm.EnvironmentVariable, "managed");
            var pipeline = new Pipeline(presetName, runsDir, parse.GetValue(data) ?? SftData.DefaultDir(presetName), outDir,
                args => Program.BuildRoot().Parse(args).Invoke());
            if (parse.GetValue(until) is { } u && pipeline.Stages.All(s => s.Name != u))
                throw new ArgumentException($"--until: no stage '{u}' (stages: {string.Join(", ", pipeline.Stages.Select(s => s.Name))})");
            if (parse.GetValue(list))
            {
                foreach (var s in pipeline.Stages) Console.WriteLine($"{s.Name,-22} {s.Paper,-10} {(s.Done() ? "finished" : "to run"),-9} {s.Folder}");
                return 0;
            }
            Console.CancelKeyPress += (_, _) => Console.Error.WriteLine(
                "\ninterrupted: finished stages and the running stage's last checkpoint are kept (written atomically); run the same command again to continue");
            return pipeline.Run(parse.GetValue(until));
        }));
        return command;
    }
}
