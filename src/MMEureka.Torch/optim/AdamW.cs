using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Modules;

/// <summary>
/// AdamW in PyTorch's order: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)   (Loshchilov and Hutter 2019, Algorithm 2).
/// </summary>
public sealed class AdamW(IEnumerable<optim.ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
    : optim.Optimizer(groups, lr, weightDecay)
{
    private readonly Dictionary<Tensor, float[]> _m = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, float[]> _v = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, int> _t = new(ReferenceEqualityComparer.Instance);

    protected override void Update(Tensor parameter, Tensor grad, double lr, double weightDecay)
    {
        var p = Values(parameter);
        var g = GradValues(grad);
        var m = State(_m, parameter);
        var v = State(_v, parameter);
        int t = _t[parameter] = _t.GetValueOrDefault(parameter) + 1;
        float decay = (float)(1 - lr * weightDecay);
        float b1 = (float)beta1, b2 = (float)beta2, a1 = (float)(1 - beta1), a2 = (float)(1 - beta2);
        double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
        float stepSize = (float)(lr / bc1), bc2Sqrt = (float)Math.Sqrt(bc2), e = (float)eps;
        for (int i = 0; i < p.Length; i++)
        {
            float gi = g[i];
            m[i] = b1 * m[i] + a1 * gi;
            v[i] = b2 * v[i] + a2 * gi * gi;
            p[i] = p[i] * decay - stepSize * m[i] / (MathF.Sqrt(v[i]) / bc2Sqrt + e);
        }
    }
}
