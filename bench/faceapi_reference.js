// face-api's own age/gender pipeline on TFJS (pure-JS CPU backend): the reference outputs for
// the parity test of the Keras/TFLite rebuild (tests/training/test_faceapi_parity.py).
//
// Runs outside the product, in a scratch folder; FaceFlow never installs or runs face-api:
//   mkdir /tmp/faceapi && cd /tmp/faceapi && npm pack @vladmandic/face-api@1.7.15
//   tar xzf vladmandic-face-api-1.7.15.tgz && echo '{"private": true}' > package.json
//   npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
//   node bench/faceapi_reference.js /tmp/faceapi/package CASES_FOLDER [--pipeline]
//
// CASES_FOLDER/cases.json lists {name, image, height, width, box: [x, y, width, height]}, image
// naming a file of raw RGB bytes (height x width x 3) in the same folder. For each case, as
// face-api does it on an image tensor: extractFaceTensors(image, [Rect(box)]) cuts the face,
// NetInput.toBatchTensor(112, true) pads it to a centred square and resizes it, and
// ageGenderNet.forwardInput gives the age and the (male, female) softmax. Writes
// CASES_FOLDER/reference.json (age, gender per case, the versions used) and
// CASES_FOLDER/crops.f32 (each case's 112x112x3 float32 network input, one after another).
//
// --pipeline [wasm]: face-api's whole front end instead of our boxes (evaluation/attributes.py
// --faceapi-package): on each image detectSingleFace (SSD MobileNet v1, default options) with
// withFaceLandmarks(), then the age and gender as withAgeAndGender() computes them, on the
// detector box and on the box face-api derives from its 68 landmarks (alignedRect, what its
// README's detectAllFaces(input).withFaceLandmarks().withAgeAndGender() uses). `wasm` runs it on
// TFJS's WebAssembly backend (faster; the CPU backend takes about 20 s of CPU per photo). Writes
// CASES_FOLDER/pipeline.json.
'use strict';

const fs = require('fs');
const path = require('path');

function box(rect) {
  return rect ? [rect.x, rect.y, rect.width, rect.height] : null;
}

async function pipeline(faceapi, casesDir, cases) {
  const { tf } = faceapi;
  const net = faceapi.nets.ageGenderNet;
  const results = [];
  for (const item of cases) {
    const pixels = fs.readFileSync(path.join(casesDir, item.image));
    const image = tf.tensor3d(Int32Array.from(pixels), [item.height, item.width, 3], 'int32');
    // what withAgeAndGender() does after a detection, with and without withFaceLandmarks()
    const found = await faceapi.detectSingleFace(image).withFaceLandmarks();
    const result = { name: item.name, box: null, aligned_box: null };
    if (found) {
      const faces = await faceapi.extractFaceTensors(image, [found.detection, found.alignedRect]);
      const [plain, aligned] = [await net.predictAgeAndGender(faces[0]), await net.predictAgeAndGender(faces[1])];
      Object.assign(result, {
        box: box(found.detection.box),
        age: plain.age,
        gender: plain.gender,
        aligned_box: box(found.alignedRect.box),
        aligned_age: aligned.age,
        aligned_gender: aligned.gender,
      });
      tf.dispose(faces);
    }
    results.push(result);
    tf.dispose(image);
    process.stderr.write(`${results.length}/${cases.length} ${item.name}\n`);
  }
  return results;
}

async function main() {
  const [packageDir, casesDir, mode, backend] = process.argv.slice(2);
  if (!packageDir || !casesDir) throw new Error('usage: node faceapi_reference.js PACKAGE_DIR CASES_DIR [--pipeline [wasm]]');
  const faceapi = require(path.resolve(packageDir, 'dist/face-api.node-wasm.js'));
  const { tf } = faceapi;
  await tf.setBackend(mode === '--pipeline' && backend === 'wasm' ? 'wasm' : 'cpu');
  await tf.ready();
  const models = path.resolve(packageDir, 'model');
  await faceapi.nets.ageGenderNet.loadFromDisk(models);
  const cases = JSON.parse(fs.readFileSync(path.join(casesDir, 'cases.json'), 'utf8'));
  const versions = { faceapi: faceapi.version, tfjs: tf.version.tfjs, backend: tf.getBackend() };
  if (mode === '--pipeline') {
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
    const results = await pipeline(faceapi, casesDir, cases);
    fs.writeFileSync(path.join(casesDir, 'pipeline.json'), JSON.stringify({ versions, results }, null, 1));
    return;
  }
  const results = [];
  const crops = [];
  for (const item of cases) {
    const pixels = fs.readFileSync(path.join(casesDir, item.image));
    const image = tf.tensor3d(Int32Array.from(pixels), [item.height, item.width, 3], 'int32');
    const [face] = await faceapi.extractFaceTensors(image, [new faceapi.Rect(...item.box)]);
    const input = await faceapi.toNetInput(face);
    const batch = input.toBatchTensor(112, true);
    crops.push(Buffer.from(Float32Array.from(await batch.data()).buffer)); // a copy
    const out = faceapi.nets.ageGenderNet.forwardInput(input);
    const prediction = await faceapi.nets.ageGenderNet.predictAgeAndGender(face);
    results.push({
      name: item.name,
      age: (await out.age.data())[0],
      gender: Array.from(await out.gender.data()),
      prediction,
    });
    tf.dispose([image, face, batch, out.age, out.gender]);
  }
  fs.writeFileSync(path.join(casesDir, 'reference.json'), JSON.stringify({ versions, results }, null, 1));
  fs.writeFileSync(path.join(casesDir, 'crops.f32'), Buffer.concat(crops));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
