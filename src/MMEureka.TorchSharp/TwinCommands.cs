using System.CommandLine;
using MMEureka.Models;

namespace MMEureka.Twin;

/// <summary>The twin's verbs besides status and parity: roundtrip, bench, eval.</summary>
internal static class TwinCommands
{
    /// <summary><c>roundtrip --checkpoint DIR --out DIR</c>: load with the twin, save back, reload with the engine.</summary>
    public static Command Roundtrip()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder to load with the twin.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to save the twin's checkpoint to.", Required = true };
        var command = new Command("roundtrip", "Load a checkpoint into the twin, save it back, and check that the engine reads the same tensors.") { checkpoint, output };
        command.SetAction(parse => Program.Run(() =>
        {
            string src = parse.GetValue(checkpoint)!, dst = parse.GetValue(output)!;
            using var twin = TwinCheckpoint.Load(src, out var tokenizer);
            TwinCheckpoint.Save(twin, dst, tokenizer);
            var a = MiniVlm.Load(src).named_parameters().ToList();
            var b = MiniVlm.Load(dst).named_parameters().ToDictionary(x => x.name, x => x.parameter);
            int same = a.Count(x => b.TryGetValue(x.name, out var t) && x.parameter.data<float>().AsSpan().SequenceEqual(t.data<float>()));
            Console.WriteLine($"{dst}: {same} of {a.Count} tensors bit-identical to {src}");
            return same == a.Count && b.Count == a.Count ? 0 : 1;
        }));
        return command;
    }

    public static Command Bench() => new("bench", "not yet");
    public static Command Eval() => new("eval", "not yet");
}
