// Loads a .bvh or .glb with three.js's own loaders (BVHLoader, GLTFLoader), as a web viewer would, plays its
// animation and prints one JSON line: {"duration": s, "heads": [{bone: [x, y, z]}, ...]} in the file's units, one
// entry per time in the order given (a JSON object keyed by time would list whole seconds first).
// Usage: node three_import.mjs FILE TIME[,TIME...]   (three.js from build/node, where make system-deps installs it)
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const three = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "node", "node_modules", "three");
const from = (path) => import(pathToFileURL(resolve(three, path)).href);
const { AnimationMixer, LoopOnce, Vector3 } = await from("build/three.module.js");
const { BVHLoader } = await from("examples/jsm/loaders/BVHLoader.js");
const { GLTFLoader } = await from("examples/jsm/loaders/GLTFLoader.js");

const [file, times] = process.argv.slice(2);

async function load(path) {
  if (path.endsWith(".bvh")) {
    const bvh = new BVHLoader().parse(readFileSync(path, "utf8"));
    return { root: bvh.skeleton.bones[0], bones: bvh.skeleton.bones, clip: bvh.clip };
  }
  const data = readFileSync(path);
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const gltf = await new Promise((resolve, reject) => new GLTFLoader().parse(buffer, "", resolve, reject));
  const bones = [];
  gltf.scene.traverse((o) => { if (o.isBone) bones.push(o); });
  return { root: gltf.scene, bones, clip: gltf.animations[0] };
}

const { root, bones, clip } = await load(file);
const mixer = new AnimationMixer(root);
const action = mixer.clipAction(clip);
action.setLoop(LoopOnce);  // a time a rounding error past the end is the last frame, not the first again
action.clampWhenFinished = true;
action.play();
const heads = [];
for (const t of times.split(",").map(Number)) {
  mixer.setTime(t);
  root.updateMatrixWorld(true);
  heads.push(Object.fromEntries(bones.map((b) => [b.name, new Vector3().setFromMatrixPosition(b.matrixWorld).toArray()])));
}
console.log(JSON.stringify({ duration: clip.duration, heads }));
