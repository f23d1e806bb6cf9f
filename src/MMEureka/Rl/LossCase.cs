using System.Text.Json;
using System.Text.Json.Nodes;
using static MMEureka.Torch.torch;

namespace MMEureka.Rl;

/// <summary>One response of a <see cref="LossCase"/>: its reward and the per-token log-probabilities.</summary>
public sealed record CaseResponse(double Reward, float[] LogpOld, float[] LogpNew, float[]? LogpRef = null);

/// <summary>What the loss code makes of a case: each response's advantage, the loss, and d loss / d logp_new per token.</summary>
public sealed record LossCaseResult(double[][] Advantages, double Loss, float[][][] GradLogpNew, LossStats Stats);

/// <summary>
/// A hand-sized input to the very loss code the trainer runs (<c>mmeureka rl loss</c>): groups of responses with
/// rewards and per-token log-probabilities under the old and the new policy. For teaching, and for checking the
/// numbers against other implementations. Every option has the papers' default; the aggregation defaults to
/// Dr. GRPO's constant for <c>dr_grpo</c> and to CPGD's Eq. 2 (group token mean) otherwise.
/// </summary>
public sealed record LossCase(PolicyObjective Objective, AdvantageEstimator Estimator, LossAggregation Aggregation,
    LossSettings Settings, double COmega, int MaxLen, IReadOnlyList<IReadOnlyList<CaseResponse>> Groups)
{
    /// <summary>Parses the JSON case; an error names the field at fault.</summary>
    public static LossCase Parse(string json)
    {
        var o = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("the case must be a JSON object");
        var objective = EnumField(o, "objective", PolicyObjective.Cpgd);
        var estimator = EnumField(o, "estimator", AdvantageEstimator.CpgdStd);
        var aggregation = EnumField(o, "aggregation", estimator == AdvantageEstimator.DrGrpo ? LossAggregation.Constant : LossAggregation.GroupTokenMean);
        var d = new LossSettings();
        var settings = new LossSettings
        {
            Eps = Number(o, "eps", d.Eps), DualClipC = Number(o, "dual_clip_c", d.DualClipC), DriftAlpha = Number(o, "drift_alpha", d.DriftAlpha),
            DriftC = Number(o, "drift_c", d.DriftC), KlCoef = Number(o, "kl_coef", 0), KlEstimator = EnumField(o, "kl_estimator", KlEstimator.K3),
            ClipLambda = Number(o, "clip_lambda", 1),
        };
        try { settings.Validate(); } catch (ArgumentException e) { throw new FormatException(e.Message.Replace("loss ", "field ")); }
        double cOmega = Number(o, "c_omega", 3.0);
        var groupsNode = o["groups"] as JsonArray ?? throw new FormatException("field groups is missing or not an array");
        if (groupsNode.Count == 0) throw new FormatException("field groups is empty");
        var groups = new List<IReadOnlyList<CaseResponse>>();
        for (int g = 0; g < groupsNode.Count; g++)
        {
            var responses = groupsNode[g] as JsonArray ?? throw new FormatException($"field groups[{g}] is not an array");
            if (responses.Count == 0) throw new FormatException($"field groups[{g}] is empty");
            var list = new List<CaseResponse>();
            for (int k = 0; k < responses.Count; k++)
            {
                string at = $"groups[{g}][{k}]";
                var r = responses[k] as JsonObject ?? throw new FormatException($"field {at} is not an object");
                double reward = r["reward"] is JsonValue rv && rv.TryGetValue<double>(out var x) ? x : throw new FormatException($"field {at}.reward is missing or not a number");
                var oldLp = Floats(r, "logp_old", at);
                var newLp = Floats(r, "logp_new", at);
                if (oldLp.Length != newLp.Length) throw new FormatException($"field {at}: logp_old has {oldLp.Length} tokens, logp_new {newLp.Length}");
                if (oldLp.Length == 0) throw new FormatException($"field {at}: a response needs at least one token");
                float[]? refLp = r["logp_ref"] != null ? Floats(r, "logp_ref", at) : null;
                if (refLp != null && refLp.Length != oldLp.Length) throw new FormatException($"field {at}: logp_ref has {refLp.Length} tokens, logp_old {oldLp.Length}");
                if (settings.KlCoef > 0 && refLp == null) throw new FormatException($"field {at}.logp_ref is needed when kl_coef > 0");
                list.Add(new CaseResponse(reward, oldLp, newLp, refLp));
            }
            groups.Add(list);
        }
        int longest = groups.SelectMany(g => g).Max(r => r.LogpOld.Length);
        int maxLen = o["max_len"] != null ? (int)Number(o, "max_len", longest) : longest;
        if (maxLen < longest) throw new FormatException($"field max_len = {maxLen} is shorter than the longest response ({longest} tokens)");
        return new LossCase(objective, estimator, aggregation, settings, cOmega, maxLen, groups);
    }

    /// <summary>Evaluates the case with <see cref="Advantages.Compute"/> and <see cref="PolicyLoss.Compute"/>, and
    /// the loss's gradient with respect to every logp_new by backpropagation.</summary>
    public LossCaseResult Evaluate()
    {
        var rewards = Groups.Select(g => (IReadOnlyList<double>)g.Select(r => r.Reward).ToList()).ToList();
        var lengths = Groups.Select(g => (IReadOnlyList<int>)g.Select(r => r.LogpOld.Length).ToList()).ToList();
        var adv = Advantages.Compute(Estimator, rewards, lengths, COmega);
        var rows = Groups.SelectMany(g => g).ToList();
        var groupOf = Groups.SelectMany((g, i) => g.Select(_ => i)).ToList();
        var rowAdv = adv.SelectMany(a => a).ToArray();
        int b = rows.Count, lmax = rows.Max(r => r.LogpOld.Length);
        float[] newLp = new float[b * lmax], oldLp = new float[b * lmax], a = new float[b * lmax], mask = new float[b * lmax];
        float[]? refLp = Settings.KlCoef > 0 ? new float[b * lmax] : null;
        for (int r = 0; r < b; r++)
            for (int k = 0; k < rows[r].LogpOld.Length; k++)
            {
                int i = r * lmax + k;
                newLp[i] = rows[r].LogpNew[k]; oldLp[i] = rows[r].LogpOld[k]; a[i] = (float)rowAdv[r]; mask[i] = 1;
                if (refLp != null) refLp[i] = rows[r].LogpRef![k];
            }
        var logp = tensor(newLp, [b, lmax], requires_grad: true);
        var (loss, stats) = PolicyLoss.Compute(Objective, Settings, Aggregation, logp, oldLp, a, mask,
            rows.Select(r => r.LogpOld.Length).ToList(), groupOf, MaxLen, refLp);
        loss.backward();
        var grad = logp.grad!.data<float>();
        var perGroup = new float[Groups.Count][][];
        int row = 0;
        for (int g = 0; g < Groups.Count; g++)
        {
            perGroup[g] = new float[Groups[g].Count][];
            for (int k = 0; k < Groups[g].Count; k++, row++)
                perGroup[g][k] = grad.AsSpan(row * lmax, rows[row].LogpOld.Length).ToArray();
        }
        return new LossCaseResult(adv, loss.item<float>(), perGroup, stats);
    }

    /// <summary>The result as JSON: <c>advantages</c>, <c>loss</c>, <c>grad_logp_new</c>.</summary>
    public static JsonObject ToJson(LossCaseResult r) => new()
    {
        ["advantages"] = new JsonArray(r.Advantages.Select(g => (JsonNode?)new JsonArray(g.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray())).ToArray()),
        ["loss"] = r.Loss,
        ["grad_logp_new"] = new JsonArray(r.GradLogpNew.Select(g => (JsonNode?)new JsonArray(g.Select(resp =>
            (JsonNode?)new JsonArray(resp.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray())).ToArray())).ToArray()),
        ["stats"] = new JsonObject
        {
            ["clip_ratio_low"] = r.Stats.ClipLow, ["clip_ratio_high"] = r.Stats.ClipHigh, ["ratio_mean"] = r.Stats.RatioMean,
            ["ratio_max"] = r.Stats.RatioMax, ["policy_drift_kl"] = r.Stats.DriftKl,
        },
    };

    private static T EnumField<T>(JsonObject o, string field, T fallback) where T : struct, Enum
    {
        if (o[field] is null) return fallback;
        string text = o[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new FormatException($"field {field} must be a string");
        // snake_case names: group_norm -> GroupNorm, cpgd_clip_filter_like -> CpgdClipFilterLike.
        string pascal = string.Concat(text.Split('_').Select(w => w.Length == 0 ? "" : char.ToUpperInvariant(w[0]) + w[1..]));
        if (Enum.TryParse<T>(pascal, ignoreCase: true, out var e) && Enum.IsDefined(e)) return e;
        var names = Enum.GetNames<T>().Select(n => JsonNamingPolicy.SnakeCaseLower.ConvertName(n));
        throw new FormatException($"field {field}: unknown value '{text}' (expected {string.Join(", ", names)})");
    }

    private static double Number(JsonObject o, string field, double fallback)
    {
        if (o[field] is null) return fallback;
        return o[field] is JsonValue v && v.TryGetValue<double>(out var x) ? x : throw new FormatException($"field {field} must be a number");
    }

    private static float[] Floats(JsonObject r, string field, string at)
    {
        var arr = r[field] as JsonArray ?? throw new FormatException($"field {at}.{field} is missing or not an array");
        return arr.Select((n, i) => n is JsonValue v && v.TryGetValue<double>(out var x) && double.IsFinite(x)
            ? (float)x : throw new FormatException($"field {at}.{field}[{i}] is not a finite number")).ToArray();
    }
}
