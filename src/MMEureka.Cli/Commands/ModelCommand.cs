using System.CommandLine;
using System.Diagnostics;
using System.Text;
using MMEureka.Models;
using static MMEureka.Torch.torch;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka model logits|info|throughput</c>: the policy network on its own (parity, shape, speed).</summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var command = new Command("model", "Inspect the MiniVlm policy: logits for parity, shape, sampling speed.");
        command.Subcommands.Add(Logits());
        command.Subcommands.Add(Info());
        command.Subcommands.Add(Init());
        command.Subcommands.Add(Throughput());
        return command;
    }

    private static Command Logits()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder (model.safetensors, config.json, tokenizer.json).", Required = true };
        var input = new Option<string>("--input") { Description = "IN.json: {\"image\": \"x.png\" | \"pixels\": [3*48*48 floats], \"tokens\": [ids]}.", Required = true };
        var output = new Option<string>("--out") { Description = "OUT.json: {\"logits\": [[...], ...]}, one row per position (image positions first).", Required = true };
        var command = new Command("logits", "Write the logits of every position of [image ; tokens] as JSON.") { checkpoint, input, output };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var model = MiniVlm.Load(parse.GetValue(checkpoint)!);
            var request = LogitsInput.Read(parse.GetValue(input)!, model.Config);
            float[] logits;
            using (no_grad())
                logits = model.forward(Sampler.ImageBatch([request.Pixels], model.Config), request.Tokens, request.Tokens.Length).data<float>();
            int v = model.Config.VocabSize, rows = logits.Length / v;
            var sb = new StringBuilder("{\"logits\":[");
            for (int r = 0; r < rows; r++)
            {
                sb.Append(r == 0 ? "[" : ",\n[");
                for (int j = 0; j < v; j++)
                {
                    if (j > 0) sb.Append(',');
                    sb.Append(logits[r * v + j].ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                }
                sb.Append(']');
            }
            sb.Append("]}\n");
            CliErrors.WriteAtomically(parse.GetValue(output)!, sb.ToString());
            Console.WriteLine($"wrote {rows} x {v} logits to {parse.GetValue(output)}");
            return 0;
        }));
        return command;
    }

    private static Command Info()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint folder; without it, the model of --preset." };
        var preset = new Option<string>("--preset") { Description = "tiny, quick or full.", DefaultValueFactory = _ => "quick" };
        var command = new Command("info", "Print the model's shape and parameter count per module.") { checkpoint, preset };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var path = parse.GetValue(checkpoint);
            var model = path != null ? MiniVlm.Load(path) : new MiniVlm(MiniVlmConfig.ForPreset(parse.GetValue(preset)!));
            Console.WriteLine(model.Config.ToJson());
            foreach (var (name, p) in model.named_parameters())
                Console.WriteLine($"{name,-36} [{string.Join(", ", p.shape)}]");
            Console.WriteLine($"parameters: {model.ParameterCount():N0}");
            return 0;
        }));
        return command;
    }

    private static Command Init()
    {
        var preset = new Option<string>("--preset") { Description = "tiny, quick or full.", DefaultValueFactory = _ => "quick" };
        var seed = new Option<long>("--seed") { Description = "Initialisation seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Checkpoint folder to write.", Required = true };
        var command = new Command("init", "Write a freshly initialised checkpoint (for parity checks and experiments).") { preset, seed, output };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var model = new MiniVlm(MiniVlmConfig.ForPreset(parse.GetValue(preset)!), parse.GetValue(seed));
            model.Save(parse.GetValue(output)!);
            Console.WriteLine($"wrote {parse.GetValue(output)} ({model.ParameterCount():N0} parameters)");
            return 0;
        }));
        return command;
    }

    private static Command Throughput()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint folder; without it, a freshly initialised default model." };
        var batch = new Option<int>("--batch") { Description = "Rows sampled together.", DefaultValueFactory = _ => 64 };
        var tokens = new Option<int>("--tokens") { Description = "Most new tokens per row (rows that write </answer> or <eos> leave the batch).", DefaultValueFactory = _ => 128 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs after one warm-up; the median is reported.", DefaultValueFactory = _ => 3 };
        var command = new Command("throughput", "Measure KV-cached sampling speed in generated tokens per second.") { checkpoint, batch, tokens, repeats };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var path = parse.GetValue(checkpoint);
            var model = path != null ? MiniVlm.Load(path) : new MiniVlm(new MiniVlmConfig());
            int b = parse.GetValue(batch), n = parse.GetValue(tokens), reps = parse.GetValue(repeats);
            if (b <= 0 || n <= 0 || reps <= 0) throw new ArgumentException("--batch, --tokens and --repeats must be positive");
            var tok = new Tokenizer();
            var rng = new Generator(0);
            var pixels = Enumerable.Range(0, b).Select(_ => rand([model.Config.Channels * model.Config.ImageSize * model.Config.ImageSize], rng).data<float>()).ToList();
            var prompts = Enumerable.Range(0, b).Select(i => tok.Encode($"<bos>What is {i} + {i % 7}?\n")).ToList();
            var config = new SamplingConfig { Temperature = 1f, MaxNewTokens = n, Seed = 1 };
            Sampler.Sample(model, tok, pixels, prompts, config with { MaxNewTokens = Math.Min(n, 8) });
            var rates = new List<double>();
            // MMEUREKA_PROFILE=1: per-op times of the timed runs only (the warm-up's first calls run unoptimised code).
            bool profile = MMEureka.Torch.Profiler.Enabled;
            MMEureka.Torch.Profiler.Reset();
            for (int r = 0; r < reps; r++)
            {
                MMEureka.Torch.Profiler.Mark();
                var sw = Stopwatch.StartNew();
                var results = Sampler.Sample(model, tok, pixels, prompts, config with { Seed = r + 2 });
                long generated = results.Sum(x => (long)x.Tokens.Length);
                rates.Add(generated / sw.Elapsed.TotalSeconds);
                Console.WriteLine($"run {r + 1}: {generated} tokens in {sw.Elapsed.TotalSeconds:F2} s = {rates[^1]:F0} tokens/s");
            }
            rates.Sort();
            Console.WriteLine($"sampling throughput (batch {b}, {n} new tokens, {model.ParameterCount():N0} parameters): median {rates[rates.Count / 2]:F0} tokens/s");
            if (profile) Console.WriteLine($"per-op totals over the {reps} timed runs (the untracked rest is the sampler's own work):\n{MMEureka.Torch.Profiler.Report()}");
            return 0;
        }));
        return command;
    }
}
