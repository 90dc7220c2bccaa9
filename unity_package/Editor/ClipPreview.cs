// Preview of the generated clip on the target character in the Scene view: AnimationMode samples the clip
// without changing the scene (everything reverts when the preview stops), with a scrubber and Play.
using UnityEditor;
using UnityEngine;

namespace AnimGen.Editor
{
    internal sealed class ClipPreview
    {
        float time;
        bool playing;
        double lastTick;
        AnimationClip clip;
        Animator target;

        public void OnGUI(AnimationClip newClip, Animator newTarget)
        {
            if (newTarget == null || newTarget.avatar == null || !newTarget.avatar.isHuman)
            {
                EditorGUILayout.HelpBox("Pick a Humanoid target character to preview the clip in the Scene view.", MessageType.Info);
                Stop();
                return;
            }
            if (newClip != clip || newTarget != target) { Stop(); clip = newClip; target = newTarget; }
            bool on = AnimationMode.InAnimationMode();
            using (new EditorGUILayout.HorizontalScope())
            {
                bool wanted = GUILayout.Toggle(on, "Preview", "Button", GUILayout.Width(70));
                if (wanted && !on) Start();
                if (!wanted && on) Stop();
                using (new EditorGUI.DisabledScope(!AnimationMode.InAnimationMode()))
                {
                    playing = GUILayout.Toggle(playing, playing ? "Pause" : "Play", "Button", GUILayout.Width(60));
                    float t = EditorGUILayout.Slider(time, 0f, clip.length);
                    if (!Mathf.Approximately(t, time)) { time = t; playing = false; Sample(); }
                }
            }
        }

        void Start()
        {
            AnimationMode.StartAnimationMode();
            lastTick = EditorApplication.timeSinceStartup;
            EditorApplication.update += Tick;
            Sample();
        }

        public void Stop()
        {
            playing = false;
            EditorApplication.update -= Tick;
            if (AnimationMode.InAnimationMode()) AnimationMode.StopAnimationMode();
        }

        void Tick()
        {
            double now = EditorApplication.timeSinceStartup;
            float dt = (float)(now - lastTick);
            lastTick = now;
            if (!playing || clip == null) return;
            time += dt;
            if (time > clip.length) time = clip.isLooping ? time % Mathf.Max(clip.length, 1e-3f) : 0f;
            Sample();
        }

        void Sample()
        {
            if (clip == null || target == null || !AnimationMode.InAnimationMode()) return;
            AnimationMode.BeginSampling();
            AnimationMode.SampleAnimationClip(target.gameObject, clip, time);
            AnimationMode.EndSampling();
            SceneView.RepaintAll();
        }
    }
}
