using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Prm;
using MMEureka.Sft;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka bon</c>: Best-of-N accuracy per N per aggregator, beside random pick, majority vote, pass@N and an ORM.</summary>
internal static class BonCommand
{
    public static Command Create()
    {
        var policy = new Option<string>("--policy") { Description = "Policy checkpoint that samples the candidates.", Required = true };
        var prm = new Option<string?>("--prm") { Description = "PRM checkpoint (required unless --sample-only)." };
        var sampleOnly = new Option<bool>("--sample-only") { Description = "Only sample the candidates into --candidates (for scoring by several reward models later)." };
        var orm = new Option<string?>("--orm") { Description = "Outcome reward model checkpoint (mmeureka prm train --orm), shown as one more row." };
        var ns = new Option<string>("--n") { Description = "Comma-separated N (nested prefixes of the same candidates).", DefaultValueFactory = _ => "1,2,4,8,16" };
        var split = new Option<string>("--split") { Description = "test or ood.", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "ood");
        var limit = new Option<int?>("--problems") { Description = "Use only the first N problems of the split." };
        var data = new Option<string>("--data") { Description = "MiniK12 folder.", DefaultValueFactory = _ => SftData.DefaultDir("quick") };
        var seed = new Option<long>("--seed") { Description = "Seed of the candidates.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Also write candidates.jsonl (every candidate with its scores) and table.json here." };
        var json = new Option<bool>("--json") { Description = "Print the table as JSON." };
        var candidates = new Option<string?>("--candidates") { Description = "Candidates file: read when it exists (sampled earlier by the same policy, seed and split), " +
                                                                            "else sampled and written there, so that several reward models score the same candidates." };
        var command = new Command("bon", "Best-of-N with the PRM: sample N candidates per problem once, score every step, pick by each aggregator.")
            { policy, prm, orm, ns, split, limit, data, seed, output, json, candidates, sampleOnly };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var nList = ParseNs(parse.GetValue(ns)!);
            if (parse.GetValue(limit) is <= 0) throw new ArgumentException("--problems must be positive");
            var config = new BonConfig { Candidates = nList.Max(), Seed = parse.GetValue(seed) }.Validate();
            var which = parse.GetValue(split) == "ood" ? Split.Ood : Split.Test;
            IReadOnlyList<Problem> problems = MiniK12.Load(parse.GetValue(data)!, which);
            if (parse.GetValue(limit) is { } n) problems = problems.Take(n).ToList();
            bool only = parse.GetValue(sampleOnly);
            if (only && parse.GetValue(candidates) is null) throw new ArgumentException("--sample-only needs --candidates FILE to write to");
            if (!only && parse.GetValue(prm) is null) throw new ArgumentException("--prm is required (or --sample-only)");
            var policyModel = MiniVlm.Load(parse.GetValue(policy)!, out var tokenizer);
            var prmModel = only ? null : MiniVlm.Load(parse.GetValue(prm)!);
            var ormModel = parse.GetValue(orm) is { } o ? MiniVlm.Load(o) : null;
            bool quiet = parse.GetValue(json);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            IReadOnlyList<BonProblem> sampled;
            if (parse.GetValue(candidates) is { } file && File.Exists(file))
            {
                sampled = BestOfN.Load(file, problems);
                if (sampled.Count != problems.Count || sampled.Any(p => p.Candidates.Count < config.Candidates))
                    throw new InvalidDataException($"{file} holds {sampled.Count} problems with at least {sampled.Min(p => p.Candidates.Count)} candidates; " +
                                                   $"this run needs {problems.Count} with {config.Candidates} (delete it to sample again)");
                if (!quiet) Console.WriteLine($"read {sampled.Count} x {sampled[0].Candidates.Count} candidates from {file}");
            }
            else
            {
                sampled = BestOfN.Sample(policyModel, tokenizer, problems, config);
                if (parse.GetValue(candidates) is { } path) BestOfN.Save(path, sampled);
                if (!quiet) Console.WriteLine($"sampled {problems.Count} x {config.Candidates} candidates in {clock.Elapsed.TotalSeconds:F0} s");
            }
            double sampleSeconds = clock.Elapsed.TotalSeconds;
            if (prmModel is null) return 0;
            var scored = BestOfN.Score(sampled, tokenizer, prmModel, ormModel);
            double scoreSeconds = clock.Elapsed.TotalSeconds - sampleSeconds;
            var table = BestOfN.Table(scored, nList);
            if (parse.GetValue(output) is { } dir)
            {
                BestOfN.Save(Path.Combine(dir, "candidates.jsonl"), scored);
                var t = table.ToJson();
                t["split"] = parse.GetValue(split);
                CliErrors.WriteAtomically(Path.Combine(dir, "table.json"), t.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            }
            if (quiet)
            {
                var t = table.ToJson();
                t["split"] = parse.GetValue(split);
                t["seconds"] = new JsonObject { ["sample"] = sampleSeconds, ["score"] = scoreSeconds };
                Console.WriteLine(t.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            int cut = scored.Sum(p => p.Candidates.Count(c => c.Prm.Length < c.Solution.StepCount));
            Console.WriteLine($"scored in {scoreSeconds:F0} s; {parse.GetValue(split)}: {problems.Count} problems, accuracy in % (best of N by each aggregator of the PRM's step scores)" +
                              (cut > 0 ? $"; {cut} candidates had steps past the model's window (not scored)" : ""));
            Console.Write(table.ToText());
            return 0;
        }));
        return command;
    }

    /// <summary>Parses "1,2,4,8,16" into distinct positive N in increasing order.</summary>
    internal static IReadOnlyList<int> ParseNs(string text)
    {
        var values = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, out int v) || v <= 0) throw new ArgumentException($"--n: '{part}' is not a positive integer");
            values.Add(v);
        }
        if (values.Count == 0) throw new ArgumentException("--n is empty");
        return values.Distinct().Order().ToList();
    }
}
