using static MMEureka.Torch.torch;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256;

namespace MMEureka.Torch.Modules;

/// <summary>
/// AdamW in PyTorch's order: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)   (Loshchilov and Hutter 2019, Algorithm 2).
/// </summary>
public sealed partial class AdamW(IEnumerable<optim.ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
    : optim.Optimizer(groups, lr, weightDecay)
{
    private readonly Dictionary<Tensor, float[]> _m = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, float[]> _v = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, int> _t = new(ReferenceEqualityComparer.Instance);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
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
        int i = 0;
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            ref float pr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(p);
            ref float gr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(g);
            var vb1 = V.Create(b1); var vb2 = V.Create(b2); var va1 = V.Create(a1); var va2 = V.Create(a2);
            var vdecay = V.Create(decay); var vstep = V.Create(stepSize); var vbc2 = V.Create(bc2Sqrt); var ve = V.Create(e);
            for (; i <= p.Length - 8; i += 8)
            {
                var gi = V.LoadUnsafe(ref gr, (nuint)i);
                var mi = vb1 * V.LoadUnsafe(ref m[0], (nuint)i) + va1 * gi;
                var vi = vb2 * V.LoadUnsafe(ref v[0], (nuint)i) + va2 * gi * gi;
                mi.StoreUnsafe(ref m[0], (nuint)i);
                vi.StoreUnsafe(ref v[0], (nuint)i);
                var pi = V.LoadUnsafe(ref pr, (nuint)i) * vdecay - vstep * mi / (V.Sqrt(vi) / vbc2 + ve);
                pi.StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < p.Length; i++)
        {
            float gi = g[i];
            m[i] = b1 * m[i] + a1 * gi;
            v[i] = b2 * v[i] + a2 * gi * gi;
            p[i] = p[i] * decay - stepSize * m[i] / (MathF.Sqrt(v[i]) / bc2Sqrt + e);
        }
    }
}
