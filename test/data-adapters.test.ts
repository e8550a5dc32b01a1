import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { getAdapter } from '../src/data/adapters/index.ts';
import { chestPatientId } from '../src/data/adapters/chest.ts';
import { thyroidClass } from '../src/data/adapters/thyroid.ts';
import { countItems, type AdapterResult } from '../src/data/types.ts';
import { readDataset } from '../src/data/preprocess.ts';

let png: Buffer;
let jpg: Buffer;
async function images(): Promise<void> {
  const raw = { raw: { width: 6, height: 4, channels: 3 as const } };
  png ??= await sharp(Buffer.alloc(72, 90), raw).png().toBuffer();
  jpg ??= await sharp(Buffer.alloc(72, 90), raw).jpeg().toBuffer();
}

/** Write files under a fresh temp root: path -> image kind or text. */
function tree(files: Record<string, 'png' | 'jpg' | string>): string {
  const root = mkdtempSync(join(tmpdir(), 'data-adapter-'));
  for (const [rel, what] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, what === 'png' ? png : what === 'jpg' ? jpg : what);
  }
  return root;
}

function byName(r: AdapterResult): Record<string, { cls: string; group?: string }> {
  const out: Record<string, { cls: string; group?: string }> = {};
  for (const it of r.items) {
    const key = it.path.split(/[\\/]/).slice(-2).join('/');
    out[key] = it.group === undefined ? { cls: it.className } : { cls: it.className, group: it.group };
  }
  return out;
}

async function errCode(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: String((e as { code?: unknown }).code), message: (e as Error).message };
  }
  assert.fail('expected an error');
}

test('chest patient ids follow the study string rules', () => {
  assert.equal(chestPatientId('IM-0761-0001.jpeg'), '0761');
  assert.equal(chestPatientId('NORMAL2-IM-0686-0001.jpeg'), '0686');
  assert.equal(chestPatientId('person1_bacteria_1.jpeg'), 'person1');
  assert.equal(chestPatientId('person1502_virus_2610.jpeg'), 'person1502');
});

test('chest: splits merged, IM-/NORMAL2-IM- and personN merged into one group, only .jpeg read', async () => {
  await images();
  const root = tree({
    'train/NORMAL/IM-0001-0001.jpeg': 'jpg',
    'test/NORMAL/NORMAL2-IM-0001-0002.jpeg': 'jpg',
    'val/NORMAL/IM-0002-0001.jpeg': 'jpg',
    'train/NORMAL/notes.png': 'png',
    'train/PNEUMONIA/person1_bacteria_1.jpeg': 'jpg',
    'test/PNEUMONIA/person1_virus_7.jpeg': 'jpg',
    'val/PNEUMONIA/person2_bacteria_3.jpeg': 'jpg',
    'train/.DS_Store': 'x',
  });
  const r = await getAdapter('chest').read({ root, seed: 0 });
  assert.deepEqual(r.classes, ['NORMAL', 'PNEUMONIA']);
  assert.equal(r.items.length, 6);
  const c = countItems(r);
  assert.deepEqual(c.perClass, { NORMAL: 3, PNEUMONIA: 3 });
  assert.equal(c.groups, 4); // 0001, 0002, person1, person2
  const n = byName(r);
  assert.deepEqual(n['NORMAL/NORMAL2-IM-0001-0002.jpeg'], { cls: 'NORMAL', group: '0001' });
  assert.deepEqual(n['PNEUMONIA/person1_virus_7.jpeg'], { cls: 'PNEUMONIA', group: 'person1' });
  assert.ok(r.warnings.some((w) => w.includes('NORMAL2-IM')));
  assert.ok(r.warnings.some((w) => w.includes('personN')));
});

test('breast: normal -> benign, masks ignored, flat and class-folder layouts', async () => {
  await images();
  const flat = tree({
    'benign (1).png': 'png',
    'benign (1)_mask.png': 'png',
    'malignant (1).png': 'png',
    'malignant (2).png': 'png',
    'malignant (2)_mask_1.png': 'png',
    'normal (1).png': 'png',
  });
  const r = await getAdapter('breast').read({ root: flat, seed: 0 });
  assert.deepEqual(countItems(r).perClass, { benign: 2, malignant: 2 });
  assert.equal(byName(r)[flat.split('/').pop() + '/normal (1).png']?.cls, 'benign');
  assert.equal(countItems(r).groups, null);
  const kaggle = tree({ 'benign/benign (1).png': 'png', 'normal/normal (3).png': 'png', 'normal/normal (3)_mask.png': 'png', 'malignant/malignant (9).png': 'png' });
  const k = await getAdapter('breast').read({ root: kaggle, seed: 0 });
  assert.deepEqual(countItems(k).perClass, { benign: 2, malignant: 1 });
});

test('thyroid: TI-RADS string rules, missing tirads -> benign, pid join', async () => {
  assert.equal(thyroidClass('4a'), 'malignant');
  assert.equal(thyroidClass('4b'), 'malignant');
  assert.equal(thyroidClass('4c'), 'malignant');
  assert.equal(thyroidClass('5'), 'malignant');
  assert.equal(thyroidClass('4.0'), 'malignant');
  assert.equal(thyroidClass('3'), 'benign');
  assert.equal(thyroidClass('2'), 'benign');
  assert.equal(thyroidClass(undefined), 'benign');
  assert.equal(thyroidClass(''), 'benign');
  assert.equal(thyroidClass('x'), undefined);
  await images();
  const xml = (n: number, t: string | null): string =>
    `<?xml version="1.0"?>\n<case>\n<number>${n}</number><age>40</age><sex>F</sex><composition>solid</composition>` +
    `<echogenicity>x</echogenicity><margins>x</margins><calcifications>x</calcifications>${t === null ? '' : `<tirads>${t}</tirads>`}` +
    `<reportbacaf/><mark><image>1</image><svg>[]</svg></mark>\n</case>\n`;
  const root = tree({
    '1.xml': xml(1, '4a'),
    '2.xml': xml(2, '3'),
    '3.xml': xml(3, null),
    '4.xml': xml(4, '5'),
    '5.xml': xml(5, ''),
    '1_1.jpg': 'jpg',
    '1_2.jpg': 'jpg',
    '2_1.jpg': 'jpg',
    '3_1.jpg': 'jpg',
    '4_1.jpg': 'jpg',
    '5_1.jpg': 'jpg',
    '9_1.jpg': 'jpg',
  });
  const r = await getAdapter('thyroid').read({ root, seed: 0 });
  const n = byName(r);
  const base = root.split('/').pop()!;
  assert.deepEqual(n[`${base}/1_2.jpg`], { cls: 'malignant', group: '1' });
  assert.equal(n[`${base}/2_1.jpg`]?.cls, 'benign');
  assert.equal(n[`${base}/3_1.jpg`]?.cls, 'benign');
  assert.equal(n[`${base}/4_1.jpg`]?.cls, 'malignant');
  assert.equal(n[`${base}/5_1.jpg`]?.cls, 'benign');
  assert.equal(n[`${base}/9_1.jpg`], undefined, 'image without XML is dropped');
  assert.equal(countItems(r).groups, 5);
  assert.ok(r.warnings.some((w) => w.includes('9_1.jpg')));
  const bad = tree({ '1.xml': xml(1, 'high'), '1_1.jpg': 'jpg' });
  const e = await errCode(getAdapter('thyroid').read({ root: bad, seed: 0 }));
  assert.equal(e.code, 'DATA_UNKNOWN_LABEL');
  assert.match(e.message, /1\.xml.*'high'/);
});

test('mammograms: duplicates kept, conflicts warned, BENIGN_WITHOUT_CALLBACK merged, missing PNGs dropped', async () => {
  await images();
  const head = 'patient_id,breast density,left or right breast,image view,abnormality id,abnormality type,pathology,image file path\n';
  const row = (pid: string, label: string, img: string): string => `${pid},2,LEFT,CC,1,calcification,${label},${img}/1.3.6.1/1.3.6.2/000000.dcm\n`;
  const root = tree({
    'calc_case_description_train_set.csv': head + row('P_00001', 'BENIGN', 'Calc-Training_P_00001_LEFT_CC') + row('P_00001', 'MALIGNANT', 'Calc-Training_P_00001_LEFT_CC'),
    'calc_case_description_test_set.csv': head + row('P_00002', 'BENIGN_WITHOUT_CALLBACK', 'Calc-Test_P_00002_LEFT_CC'),
    'mass_case_description_train_set.csv': head + row('P_00003', 'MALIGNANT', 'Mass-Training_P_00003_LEFT_CC') + row('P_00003', 'MALIGNANT', 'Mass-Training_P_00003_LEFT_CC'),
    'mass_case_description_test_set.csv': head + row('P_00004', 'BENIGN', 'Mass-Test_P_00004_LEFT_CC'),
    'images/Calc-Training_P_00001_LEFT_CC.png': 'png',
    'images/Calc-Test_P_00002_LEFT_CC.png': 'png',
    'images/Mass-Training_P_00003_LEFT_CC.png': 'png',
  });
  const r = await getAdapter('mammograms').read({ root, seed: 0 });
  assert.equal(r.items.length, 5);
  assert.deepEqual(countItems(r).perClass, { BENIGN: 2, MALIGNANT: 3 });
  assert.equal(countItems(r).groups, 3);
  assert.equal(r.missing.length, 1);
  assert.ok(r.warnings.some((w) => w.includes('conflicting') && w.includes('Calc-Training_P_00001_LEFT_CC.png')));
  assert.ok(r.warnings.some((w) => w.includes('duplicate')));
  writeFileSync(join(root, 'mass_case_description_test_set.csv'), 'patient_id,image file path\nP_1,x/y.dcm\n');
  const e = await errCode(getAdapter('mammograms').read({ root, seed: 0 }));
  assert.equal(e.code, 'DATA_MISSING_COLUMN');
  assert.match(e.message, /mass_case_description_test_set\.csv: missing column 'pathology'/);
});

test('knee: folder-specific 3-class labels; valid-abnormal.csv only with knee_labels: study-code', async () => {
  await images();
  const root = tree({
    'train-acl.csv': '0000,1\n0001,0\n',
    'valid-acl.csv': '1130,0\n',
    'train-meniscus.csv': '0000,0\n0001,1\n',
    'valid-meniscus.csv': '1130,1\n',
    'valid-abnormal.csv': '1130,0\n',
    'images/acl/0000_sagittal_3.000000.png': 'png',
    'images/acl/0001_sagittal_3.000000.png': 'png',
    'images/acl/1130_sagittal_5.000000.png': 'png',
    'images/meniscus/0000_sagittal_1.000000.png': 'png',
    'images/meniscus/0001_sagittal_1.000000.png': 'png',
    'images/meniscus/1130_sagittal_2.000000.png': 'png',
    'images/meniscus/1130_sagittal_3.000000.png': 'png',
  });
  const r = await getAdapter('knee').read({ root, seed: 0 });
  assert.deepEqual(r.classes, ['acl', 'meniscus', 'normal']);
  const n = byName(r);
  assert.deepEqual(n['acl/0000_sagittal_3.000000.png'], { cls: 'acl', group: '0000' });
  assert.equal(n['acl/0001_sagittal_3.000000.png']?.cls, 'normal');
  assert.equal(n['meniscus/0000_sagittal_1.000000.png']?.cls, 'normal');
  assert.equal(n['meniscus/0001_sagittal_1.000000.png']?.cls, 'meniscus');
  assert.equal(n['meniscus/1130_sagittal_2.000000.png']?.cls, 'meniscus');
  assert.deepEqual(countItems(r).perClass, { acl: 1, meniscus: 3, normal: 3 });
  assert.equal(countItems(r).groups, 3);
  const bug = await getAdapter('knee').read({ root, seed: 0, knee_labels: 'study-code' });
  assert.equal(byName(bug)['meniscus/1130_sagittal_2.000000.png']?.cls, 'normal');
  assert.deepEqual(countItems(bug).perClass, { acl: 1, meniscus: 1, normal: 5 });
});

test('pcam: label from the file name, seeded subset', async () => {
  await images();
  const files: Record<string, string> = {};
  for (let i = 0; i < 12; i++) files[`${i}_label=${i % 3 === 0 ? 1 : 0}.png`] = 'png';
  const root = tree(files);
  const r = await getAdapter('pcam').read({ root, seed: 0 });
  assert.deepEqual(r.classes, ['no', 'yes']);
  assert.deepEqual(countItems(r).perClass, { no: 8, yes: 4 });
  assert.equal(byName(r)[`${root.split('/').pop()}/3_label=1.png`]?.cls, 'yes');
  const a = await readDataset({ adapter: 'pcam', root, subset: 6, subset_seed: 22 });
  const b = await readDataset({ adapter: 'pcam', root, subset: 6, subset_seed: 22 });
  const c = await readDataset({ adapter: 'pcam', root, subset: 6, subset_seed: 23 });
  assert.equal(a.items.length, 6);
  assert.deepEqual(a.items.map((i) => i.path), b.items.map((i) => i.path));
  assert.notDeepEqual(a.items.map((i) => i.path), c.items.map((i) => i.path));
  writeFileSync(join(root, 'stray.png'), png);
  const e = await errCode(getAdapter('pcam').read({ root, seed: 0 }));
  assert.equal(e.code, 'DATA_UNKNOWN_LABEL');
  assert.match(e.message, /stray\.png/);
});

test('isic: first one-hot column gives the class; 7 sorted classes', async () => {
  await images();
  const gt = 'image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_0000001,0.0,1.0,0.0,0.0,0.0,0.0,0.0\nISIC_0000002,1.0,0.0,0.0,0.0,0.0,0.0,0.0\nISIC_0000003,0,0,0,0,0,1,0\n';
  const root = tree({
    'ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv': gt,
    'ISIC2018_Task3_Training_Input/ISIC_0000001.jpg': 'jpg',
    'ISIC2018_Task3_Training_Input/ISIC_0000002.jpg': 'jpg',
    'ISIC2018_Task3_Training_Input/ISIC_0000003.jpg': 'jpg',
    'ISIC2018_Task3_Training_Input/LICENSE.txt': 'x',
  });
  const r = await getAdapter('isic').read({ root, seed: 0 });
  assert.deepEqual(r.classes, ['AKIEC', 'BCC', 'BKL', 'DF', 'MEL', 'NV', 'VASC']);
  const n = byName(r);
  assert.equal(n['ISIC2018_Task3_Training_Input/ISIC_0000001.jpg']?.cls, 'NV');
  assert.equal(n['ISIC2018_Task3_Training_Input/ISIC_0000002.jpg']?.cls, 'MEL');
  assert.equal(n['ISIC2018_Task3_Training_Input/ISIC_0000003.jpg']?.cls, 'DF');
  assert.equal(r.items.length, 3);
});

test('folder and csv adapters: generic layouts, groups, missing column, missing files', async () => {
  await images();
  const root = tree({ 'cat/a_p1.png': 'png', 'cat/b_p2.png': 'png', 'dog/sub/c_p1.jpg': 'jpg', 'dog/readme.txt': 'x' });
  const f = await getAdapter('folder').read({ root, seed: 0, group_regex: '_(p\\d+)\\.' });
  assert.deepEqual(f.classes, ['cat', 'dog']);
  assert.deepEqual(countItems(f).perClass, { cat: 2, dog: 1 });
  assert.equal(countItems(f).groups, 2);
  writeFileSync(join(root, 'table.csv'), 'file,diagnosis,patient\ncat/a_p1.png,x,1\ndog/sub/c_p1.jpg,y,1\ngone.png,y,2\n');
  const c = await getAdapter('csv').read({ root, seed: 0, csv_file: 'table.csv', path_column: 'file', label_column: 'diagnosis', group_column: 'patient' });
  assert.deepEqual(countItems(c).perClass, { x: 1, y: 1 });
  assert.equal(c.grouped, true);
  assert.equal(c.missing.length, 1);
  const e = await errCode(getAdapter('csv').read({ root, seed: 0, csv_file: 'table.csv' }));
  assert.equal(e.code, 'DATA_MISSING_COLUMN');
  assert.match(e.message, /table\.csv: missing column 'path'/);
});

test('synthetic: counts, classes and patient groups without files', async () => {
  const r = await getAdapter('synthetic').read({ seed: 0, family: 'radiology', classes: 3, count: 30, image_size: 16, per_patient: 3 });
  assert.equal(r.items.length, 30);
  assert.deepEqual(r.classes, ['class0', 'class1', 'class2']);
  assert.equal(countItems(r).groups, 10);
  const img = r.items[0]!.generate!();
  assert.equal(img.width, 16);
  assert.equal(img.data.length, 16 * 16 * img.channels);
});

test('a missing root folder names the folder', async () => {
  for (const name of ['chest', 'breast', 'thyroid', 'mammograms', 'knee', 'pcam', 'isic', 'folder', 'csv']) {
    const e = await errCode(getAdapter(name).read({ root: '/nonexistent/data-root', seed: 0 }));
    assert.equal(e.code, 'DATA_MISSING_DIR', name);
    assert.match(e.message, /\/nonexistent\/data-root/);
  }
});
