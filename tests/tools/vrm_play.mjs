// Plays a VRM Animation (.vrma) on a VRM avatar with pixiv's three-vrm, as a web app does (VRMLoaderPlugin,
// VRMAnimationLoaderPlugin, createVRMAnimationClip), and prints one JSON line:
// {"duration": s, "bones": [{vrmBoneName: [x, y, z]}, ...]}, the avatar's humanoid bones' world positions at each
// time, in the order given (a JSON object keyed by time would list whole seconds first).
// With ANIMATION "embedded" it plays the avatar file's own glTF animation on its nodes instead, as a glTF viewer
// does, with the humanoid's copy from its normalized bones turned off (that copy would hold the avatar at rest).
// Usage: node vrm_play.mjs AVATAR.vrm ANIMATION.vrma|embedded TIME[,TIME...]   (packages from build/node, as
// three_import.mjs)
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const modules = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "node", "node_modules");
const from = (path) => import(pathToFileURL(resolve(modules, path)).href);
const { AnimationMixer, LoopOnce, Vector3 } = await from("three/build/three.module.js");
const { GLTFLoader } = await from("three/examples/jsm/loaders/GLTFLoader.js");
const { VRMLoaderPlugin, VRMHumanBoneList } = await from("@pixiv/three-vrm/lib/three-vrm.module.js");
const { VRMAnimationLoaderPlugin, createVRMAnimationClip } =
  await from("@pixiv/three-vrm-animation/lib/three-vrm-animation.module.js");

const [avatarPath, animationPath, times] = process.argv.slice(2);

async function load(path) {
  const loader = new GLTFLoader();
  loader.register((parser) => new VRMLoaderPlugin(parser));
  loader.register((parser) => new VRMAnimationLoaderPlugin(parser));
  const data = readFileSync(path);
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return new Promise((ok, fail) => loader.parse(buffer, "", ok, fail));
}

const gltf = await load(avatarPath);
const vrm = gltf.userData.vrm;
if (!vrm) throw new Error(`${avatarPath}: three-vrm found no VRM in it`);
let clip;
if (animationPath === "embedded") {
  clip = gltf.animations[0];
  if (!clip) throw new Error(`${avatarPath}: no glTF animation in it`);
  vrm.humanoid.autoUpdateHumanBones = false;
} else {
  const animation = (await load(animationPath)).userData.vrmAnimations?.[0];
  if (!animation) throw new Error(`${animationPath}: three-vrm found no VRM Animation in it`);
  clip = createVRMAnimationClip(animation, vrm);
}
const mixer = new AnimationMixer(vrm.scene);
const action = mixer.clipAction(clip);
action.setLoop(LoopOnce);
action.clampWhenFinished = true;
action.play();
const bones = [];
for (const t of times.split(",").map(Number)) {
  mixer.setTime(t);
  vrm.update(0);  // the normalized bones a VRM Animation moves drive the avatar's own
  vrm.scene.updateMatrixWorld(true);
  const at = {};
  for (const name of VRMHumanBoneList) {
    const node = vrm.humanoid.getRawBoneNode(name);
    if (node) at[name] = new Vector3().setFromMatrixPosition(node.matrixWorld).toArray();
  }
  bones.push(at);
}
console.log(JSON.stringify({ duration: clip.duration, bones }));
